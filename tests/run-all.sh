#!/usr/bin/env bash
# Runs every tokenkeep test: the Rust workspace (core unit and integration
# tests against the fixture authorization server, the fixture server's own
# tests, the benchmarks once each in test mode, doc tests) and lints.
# Later suites (Python, Kotlin, Swift, end to end) are added here as they land.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

section() { printf '\n==> %s\n' "$*"; }

section "Rust: format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

section "Rust: unit, integration and bench-smoke tests"
cargo test --workspace --all-targets

section "Rust: doc tests"
cargo test --workspace --doc

section "All suites passed"
