//! The fresh-token path: what every API call pays to get its token.
//!
//! Measures `access_token_blocking()`, `access_token().await` (polled by a
//! plain executor, as a binding's event loop would) and `tokens()` on a
//! session whose token is fresh. No network is involved: this is the cost of
//! the lock-free-for-readers check, the clock read and the string copy.
//!
//! Run: `cargo bench -p tokenkeep --bench fresh_token`

use criterion::{criterion_group, criterion_main, Criterion};
use tokenkeep::{TokenKeeper, TokenKeeperOptions};

fn fresh_token(c: &mut Criterion) {
    let keeper =
        TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/token", "bench-app")).expect("builds");
    keeper
        .set_tokens(
            "at_".to_owned() + &"x".repeat(40),
            Some("rt_benchmark".into()),
            Some(3_600),
            None,
            None,
        )
        .expect("set");

    c.bench_function("access_token_blocking (fresh)", |b| {
        b.iter(|| keeper.access_token_blocking().expect("token"))
    });
    c.bench_function("access_token async (fresh)", |b| {
        b.iter(|| futures::executor::block_on(keeper.access_token()).expect("token"))
    });
    c.bench_function("tokens snapshot", |b| b.iter(|| keeper.tokens().expect("tokens")));
}

criterion_group!(benches, fresh_token);
criterion_main!(benches);
