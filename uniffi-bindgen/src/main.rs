//! The uniffi-bindgen command, pinned to the workspace's uniffi version.
//!
//! Every binding (Python, Kotlin, Swift) is generated from the built core
//! library in library mode: `cargo run -p uniffi-bindgen -- generate
//! --library target/debug/libtokenkeep.so --language python --out-dir DIR`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
