#!/usr/bin/env bash
# Runs the shared e2e scenarios from Python, with the wheel that
# bindings-python/run-tests.sh built and installed into bindings-python/.venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv_python="$here/../../../bindings-python/.venv/bin/python"
if ! "$venv_python" -c "import tokenkeep" 2>/dev/null; then
  echo "the Python SDK is not installed in bindings-python/.venv: run bindings-python/run-tests.sh first" >&2
  exit 1
fi
exec "$venv_python" "$here/scenarios.py"
