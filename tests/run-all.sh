#!/usr/bin/env bash
# Runs every tokenkeep test: lints, the Rust workspace (core unit and
# integration tests against the fixture authorization server, the fixture
# server's own tests, the cross-process store tests, the benchmarks once each
# in test mode, doc tests), a bounded run of the fuzz targets (fuzz/run.sh),
# the Python SDK's pytest suite, the Kotlin/Java SDK's JUnit suite, the Swift
# package's XCTest suite, and the end-to-end scenarios against
# node-oidc-provider.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

# Each section header shows the minutes:seconds since the start, so a slow
# stage shows in any CI log.
section() { printf '\n==> [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

section "Rust: format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The hidden entry points the fuzz targets use (core/src/fuzzing.rs).
cargo clippy -p tokenkeep --features fuzzing --all-targets --quiet -- -D warnings

section "Rust: unit, integration and bench-smoke tests"
# core/tests/postgres_store.rs starts its own PostgreSQL cluster (see
# core/tests/support/postgres.rs) unless TOKENKEEP_TEST_POSTGRES_URL names one.
cargo test --workspace --all-targets

section "Rust: doc tests"
cargo test --workspace --doc

section "Rust: fuzz targets, bounded run (fuzz/run.sh; FUZZ_SECONDS per target, 0 skips)"
# Stable without a sanitizer here: the nightly + AddressSanitizer build takes
# many minutes on 2 cores; long runs use it (fuzz/README.md).
if [ "${FUZZ_SECONDS:-10}" != 0 ]; then
  FUZZ_TOOLCHAIN="${FUZZ_TOOLCHAIN:-stable}" FUZZ_SECONDS="${FUZZ_SECONDS:-10}" ./fuzz/run.sh
fi

section "Python SDK: wheel build, install and pytest"
./bindings-python/run-tests.sh

section "Kotlin/Java SDK: mvn test (JUnit 5, the JAR loads its own native library)"
./bindings-kotlin/run-tests.sh

section "Swift SDK: swift test (in a Debian 13 chroot when swift is missing)"
./bindings-swift/run-tests.sh

section "End to end: shared scenarios against node-oidc-provider"
E2E_LANGUAGES="${E2E_LANGUAGES:-rust python kotlin swift}" ./tests/e2e/run.sh

section "All suites passed"
