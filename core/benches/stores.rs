//! What a store costs per write and read: one record saved then loaded.
//!
//! Measures `save` + `load` of a realistic record (~600 bytes: the JSON a
//! session writes, with JWT-sized tokens) on the [`MemoryStore`] (the floor),
//! the [`EncryptedFileStore`] (seal, temp file, fsync, rename, directory
//! fsync, read, open) and the [`SqliteStore`] (seal, WAL commit with
//! `synchronous=FULL`, select, open), each with a raw key; and, once, the
//! Argon2id derivation a passphrase store pays when it opens. The file and
//! SQLite figures are dominated by fsync, so they depend on the disk far
//! more than on the CPU. Stores live under the system temp dir.
//!
//! Run: `cargo bench -p tokenkeep --bench stores`

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tokenkeep::{EncryptedFileStore, MemoryStore, SqliteStore, StoreKey, TokenStore};

const ACCOUNT: &str = "user-42@example.com";

/// A record shaped like the ones sessions write (schema 1), about 600 bytes.
fn realistic_record() -> Vec<u8> {
    let jwt = |label: &str| {
        format!(
            "eyJhbGciOiJSUzI1NiIsImtpZCI6IjIwMjUtMTAifQ.{}.{}",
            format!("{label}-payload-").repeat(8),
            "sig".repeat(20)
        )
    };
    let record = serde_json::json!({
        "schema_version": 1,
        "generation": 17,
        "saved_at_ms": 1_759_750_000_000i64,
        "tokens": {
            "access_token": jwt("access"),
            "refresh_token": "rt_8f0c2b7e4d1a9c3f5e6b7a8d9c0e1f2a3b4c5d6e7f8a9b0c",
            "token_type": "Bearer",
            "received_at_ms": 1_759_750_000_000i64,
            "expires_at_ms": 1_759_753_600_000i64,
            "refresh_token_expires_at_ms": 1_762_342_000_000i64,
            "scope": "openid profile email api:read api:write",
            "id_token": null,
            "extra": "{}"
        }
    });
    serde_json::to_vec(&record).expect("json")
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tokenkeep-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn save_and_load(c: &mut Criterion, name: &str, store: Arc<dyn TokenStore>, record: &[u8]) {
    c.bench_function(name, |b| {
        b.iter(|| {
            store.save(ACCOUNT.into(), record.to_vec()).expect("save");
            store.load(ACCOUNT.into()).expect("load").expect("present")
        })
    });
}

fn stores(c: &mut Criterion) {
    let record = realistic_record();
    println!("record size: {} bytes", record.len());
    let dir = TempDir::new("stores");
    let key = vec![7u8; 32];

    save_and_load(c, "save+load MemoryStore", Arc::new(MemoryStore::new()), &record);
    let file_store = EncryptedFileStore::open(dir.path("files"), key.clone()).expect("file store");
    save_and_load(c, "save+load EncryptedFileStore", file_store.as_token_store(), &record);
    let sqlite = SqliteStore::open(dir.path("tokens.sqlite"), key).expect("sqlite store");
    save_and_load(c, "save+load SqliteStore", sqlite.as_token_store(), &record);

    let mut group = c.benchmark_group("passphrase");
    group.sample_size(10);
    group.bench_function("Argon2id key derivation (19 MiB, t=2, p=1)", |b| {
        b.iter(|| StoreKey::from_passphrase("correct horse battery staple", b"0123456789abcdef").expect("key"))
    });
    group.finish();
}

criterion_group!(benches, stores);
criterion_main!(benches);
