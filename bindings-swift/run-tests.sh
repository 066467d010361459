#!/usr/bin/env bash
# Runs the Swift package's tests against the fixture authorization server,
# from a clean checkout:
#
#   1. builds the core (release) and the fixture server (debug) with cargo;
#   2. generates the Swift bindings into Generated/ (prepare.sh --regenerate,
#      which runs generate.sh), with a snapshot of the library they were
#      made with, and copies the server binary there;
#   3. runs `swift test`: directly when `swift` is on PATH, else inside a
#      Debian 13 chroot that provision-swift.sh creates on first use (about
#      70 s and 2.7 GB, reused afterwards) with the repository
#      bind-mounted at the same path.
#
# Prints swift test's summary (the full log is in .build/swift-test.log) and
# exits non-zero when anything fails. Each test starts its own fixture server
# on 127.0.0.1 and stops it by PID; the servers also exit when the test
# process dies (their stdin pipe closes).
#
# Environment: TOKENKEEP_SWIFT_TEST_TIMEOUT (seconds, default 1200),
# TOKENKEEP_SWIFT_CHROOT (see provision-swift.sh), CARGO_TARGET_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
export CI="${CI:-true}"
timeout_secs=${TOKENKEEP_SWIFT_TEST_TIMEOUT:-1200}

section() { printf '\n==> %s\n' "$*"; }

section "Swift: building the core and the fixture server"
(cd "$repo" && cargo build --locked -p tokenkeep-fixture-server)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
# Regenerates the bindings (Apple: the XCFramework too) and removes .build/
# when it was made from other generated code.
"$here/prepare.sh" --regenerate
mkdir -p "$here/Generated/bin"
cp "$target_dir/debug/tokenkeep-fixture-server" "$here/Generated/bin/tokenkeep-fixture-server.tmp"
mv -f "$here/Generated/bin/tokenkeep-fixture-server.tmp" "$here/Generated/bin/tokenkeep-fixture-server"
export TOKENKEEP_FIXTURE_SERVER="$here/Generated/bin/tokenkeep-fixture-server"

log="$here/.build/swift-test.log"
set +e
if command -v swift >/dev/null; then
  section "Swift: swift test ($(swift --version 2>/dev/null | head -n1))"
  (cd "$here" && timeout "$timeout_secs" swift test) >"$log" 2>&1 </dev/null
  status=$?
else
  section "Swift: swift test in the Debian 13 chroot (swift is not on PATH)"
  TOKENKEEP_PROVISION_TIMEOUT="${TOKENKEEP_PROVISION_TIMEOUT:-1800}" \
    "$here/provision-swift.sh" run "$repo" \
    timeout "$timeout_secs" sh -c 'cd bindings-swift && swift --version 2>&1 | head -n1 && exec swift test' \
    >"$log" 2>&1
  status=$?
fi
set -e

# The summary: provisioning notes, the compiler, errors and failed
# assertions, and XCTest's per-suite and total counts.
grep -E '^\[provision-swift\]|^Swift version|error:|Fatal error|^Test Case .* failed|^Test Suite .* (passed|failed) at|Executed [0-9]+ tests?' "$log" |
  grep -v "^Test Suite 'debug.xctest'" | tail -n 80
if [ "$status" -ne 0 ]; then
  echo "swift test failed (exit $status); last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit "$status"
fi
echo "Swift tests passed."
