#!/usr/bin/env bash
# The Python SDK's tests, from a clean checkout: creates bindings-python/.venv,
# installs maturin and the test dependencies from PyPI, builds the wheel from
# the core (debug profile by default, shares cargo's target dir; set
# TOKENKEEP_PY_RELEASE=1 for --release), installs it, and runs pytest against
# the fixture server. Exits non-zero on any failure.
#
# Environment: PYTHON (interpreter for the venv, default python3),
# TOKENKEEP_PY_RELEASE=1, CARGO_TARGET_DIR (honoured by cargo and maturin).
set -euo pipefail
cd "$(dirname "$0")"
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

section() { printf '\n==> %s\n' "$*"; }
PYTHON="${PYTHON:-python3}"
VENV_PY=.venv/bin/python

section "Python: virtualenv (.venv) with maturin"
if [ ! -x "$VENV_PY" ]; then
  "$PYTHON" -m venv .venv
fi
"$VENV_PY" --version
"$VENV_PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.16,<2.0"

section "Python: building the wheel"
profile=()
[ "${TOKENKEEP_PY_RELEASE:-0}" = 1 ] && profile=(--release)
rm -rf dist
"$VENV_PY" -m maturin build --locked --out dist "${profile[@]}"
wheels=(dist/tokenkeep-*.whl)
[ "${#wheels[@]}" -eq 1 ] || { echo "expected one wheel in dist/, found: ${wheels[*]}" >&2; exit 1; }
WHEEL="$(pwd)/${wheels[0]}"
echo "built $WHEEL"

section "Python: installing the wheel and the test dependencies"
"$VENV_PY" -m pip install --quiet --disable-pip-version-check "${WHEEL}[test]"
"$VENV_PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"

section "Python: fixture server"
cargo build --locked -p tokenkeep-fixture-server

section "Python: pytest"
TOKENKEEP_WHEEL="$WHEEL" "$VENV_PY" -m pytest tests
