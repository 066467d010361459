#!/usr/bin/env bash
# End to end: starts node-oidc-provider (server.mjs) on 127.0.0.1 and a
# random free port, runs the shared scenarios (scenarios.json) from every
# language (tests/e2e/<language>/run-scenarios.sh), prints a table of which
# scenario passed in which language, and stops the server by its own PID.
# Exits non-zero if any scenario failed or any language did not report.
#
#   tests/e2e/run.sh                    # every language
#   E2E_LANGUAGES="rust python" tests/e2e/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
languages="${E2E_LANGUAGES:-rust python kotlin swift}"

echo "==> e2e: installing node-oidc-provider (pinned in package-lock.json)"
npm ci --no-audit --no-fund --loglevel=error

work="$(mktemp -d)"
export E2E_RESULTS_DIR="$work/results"
export E2E_SCENARIOS="$here/scenarios.json"
mkfifo "$work/stdin"
node server.mjs < "$work/stdin" > "$work/stdout" 2> "$work/stderr" &
server_pid=$!
exec 3> "$work/stdin"   # the server runs while this stays open

stop_server() {
  exec 3>&- 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop_server EXIT

for _ in $(seq 1 100); do
  [ -s "$work/stdout" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/stderr" >&2; echo "the e2e server exited" >&2; exit 1; }
  sleep 0.1
done
line="$(head -n 1 "$work/stdout")"
case "$line" in
  "listening on "*) export E2E_ISSUER="${line#listening on }" ;;
  *) cat "$work/stderr" >&2; echo "the e2e server did not start: '$line'" >&2; exit 1 ;;
esac
echo "==> e2e: node-oidc-provider at $E2E_ISSUER"

status=0
for language in $languages; do
  echo "==> e2e: $language"
  if ! "$here/$language/run-scenarios.sh"; then
    status=1
  fi
done

python3 "$here/summary.py" "$E2E_SCENARIOS" "$E2E_RESULTS_DIR" $languages || status=1
exit $status
