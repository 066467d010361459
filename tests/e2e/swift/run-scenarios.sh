#!/usr/bin/env bash
# Runs the shared e2e scenarios from Swift: the TokenKeepE2E executable of
# bindings-swift (Sources/TokenKeepE2E) against $E2E_ISSUER; it writes
# $E2E_RESULTS_DIR/swift.json and exits non-zero if any scenario failed.
#
# The package uses the bindings already generated in bindings-swift/Generated/,
# regenerated first only when missing or stale (bindings-swift/prepare.sh).
# With `swift` on PATH this runs `swift run TokenKeepE2E` directly; otherwise
# inside the Debian 13 chroot of bindings-swift/provision-swift.sh, with the
# repository bind-mounted at the same path. The chroot shares the host's
# network (the server on 127.0.0.1 is reachable) but not its /tmp, so
# scenarios.json is staged into bindings-swift/.build/e2e/ and the result file
# is copied from there to $E2E_RESULTS_DIR.
#
# Environment: E2E_ISSUER, E2E_SCENARIOS, E2E_RESULTS_DIR (set by
# tests/e2e/run.sh); E2E_SWIFT_TIMEOUT, seconds for the build and the run
# (default 1200).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
package="$repo/bindings-swift"
: "${E2E_ISSUER:?is not set (run tests/e2e/run.sh)}"
: "${E2E_SCENARIOS:?is not set (run tests/e2e/run.sh)}"
: "${E2E_RESULTS_DIR:?is not set (run tests/e2e/run.sh)}"
timeout_secs=${E2E_SWIFT_TIMEOUT:-1200}

"$package/prepare.sh"

# Build quietly into a log (shown on failure), then run the scenarios.
build_and_run='swift build --product TokenKeepE2E >.build/e2e-build.log 2>&1 ||
  { echo "swift build failed; the end of bindings-swift/.build/e2e-build.log:" >&2; tail -n 40 .build/e2e-build.log >&2; exit 1; }
exec swift run --skip-build TokenKeepE2E'

if command -v swift >/dev/null; then
  cd "$package"
  exec timeout "$timeout_secs" sh -c "$build_and_run"
fi

stage="$package/.build/e2e"
rm -rf "$stage"
mkdir -p "$stage/results"
cp "$E2E_SCENARIOS" "$stage/scenarios.json"
status=0
"$package/provision-swift.sh" run "$repo" \
  timeout "$timeout_secs" \
  env E2E_ISSUER="$E2E_ISSUER" E2E_SCENARIOS="$stage/scenarios.json" E2E_RESULTS_DIR="$stage/results" \
  sh -c "cd bindings-swift && $build_and_run" || status=$?
if [ -f "$stage/results/swift.json" ]; then
  mkdir -p "$E2E_RESULTS_DIR"
  cp "$stage/results/swift.json" "$E2E_RESULTS_DIR/swift.json"
fi
exit "$status"
