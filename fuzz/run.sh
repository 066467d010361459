#!/usr/bin/env bash
# Builds tokenkeep's fuzz targets and runs each for a bounded time.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default $FUZZ_SECONDS, else 20); all targets by default.
# Toolchain: nightly with AddressSanitizer when nightly is installed, else
# stable without a sanitizer (coverage instrumentation works on both).
# Override with FUZZ_TOOLCHAIN=stable|nightly and FUZZ_SANITIZER=none|address.
# FUZZ_JOBS targets run at once (default 2). Build output goes to
# $FUZZ_TARGET_DIR (default fuzz/target). New corpus entries go to a scratch
# directory unless FUZZ_KEEP_CORPUS=1 (then into fuzz/corpus/<target>/).
#
# Prints the executions per target (libFuzzer's stat::number_of_executed_units)
# and exits non-zero when a target crashes; the crashing input is in
# fuzz/artifacts/<target>/. Then replays fuzz/regressions/ (inputs that once
# found a bug): each must pass. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

SECONDS_PER_TARGET="${1:-${FUZZ_SECONDS:-20}}"
shift || true
ALL_TARGETS=(token_response error_response store_record sealed_envelope callback_url device_authorization http_headers)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
JOBS="${FUZZ_JOBS:-2}"

if [ -z "${FUZZ_TOOLCHAIN:-}" ]; then
  if rustup run nightly rustc --version >/dev/null 2>&1; then FUZZ_TOOLCHAIN=nightly; else FUZZ_TOOLCHAIN=stable; fi
fi
if [ -z "${FUZZ_SANITIZER:-}" ]; then
  if [ "$FUZZ_TOOLCHAIN" = stable ]; then FUZZ_SANITIZER=none; else FUZZ_SANITIZER=address; fi
fi
HOST="$(rustup run "$FUZZ_TOOLCHAIN" rustc -vV | sed -n 's/^host: //p')"

# The flags cargo-fuzz passes (cargo fuzz build --release --debug-assertions).
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth"
RUSTFLAGS+=" -Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cdebug-assertions -Coverflow-checks -Cforce-frame-pointers"
if [ "$FUZZ_SANITIZER" != none ]; then
  RUSTFLAGS+=" -Zsanitizer=$FUZZ_SANITIZER"
fi
export RUSTFLAGS
# The bundled SQLite (rusqlite) is compiled with ASan too (cc inherits the
# sanitizer flag) and has two function-local `static const aiOff[]` tables of
# the same name: a known false "odr-violation", not ours to fix.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}/$FUZZ_TOOLCHAIN-$FUZZ_SANITIZER"

echo "fuzz: building ${#TARGETS[@]} targets with $FUZZ_TOOLCHAIN, sanitizer $FUZZ_SANITIZER ($HOST)"
bins=()
for t in "${TARGETS[@]}"; do bins+=(--bin "$t"); done
# --target keeps RUSTFLAGS off build scripts and proc macros.
build_started=$SECONDS
cargo "+$FUZZ_TOOLCHAIN" build --locked --release --target "$HOST" --target-dir "$TARGET_DIR" "${bins[@]}"
echo "fuzz: build took $((SECONDS - build_started)) s"
BIN_DIR="$TARGET_DIR/$HOST/release"

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p artifacts

run_one() {
  local t="$1" new_corpus
  mkdir -p "artifacts/$t" "corpus/$t"
  if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then new_corpus="corpus/$t"; else new_corpus="$SCRATCH/$t"; mkdir -p "$new_corpus"; fi
  # The first corpus directory receives new inputs; the second is only read.
  "$BIN_DIR/$t" "$new_corpus" "corpus/$t" \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" ${FUZZ_ARGS:-} >"$SCRATCH/$t.log" 2>&1
}

declare -A status
running=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  pids[$!]="$t"
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n -p done_pid && rc=0 || rc=$?
    status[${pids[$done_pid]}]=$rc
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n -p done_pid && rc=0 || rc=$?
  status[${pids[$done_pid]}]=$rc
  running=$((running - 1))
done

failed=0
printf '\n%-22s %14s %10s  %s\n' target executions exec/s result
for t in "${TARGETS[@]}"; do
  log="$SCRATCH/$t.log"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  secs="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  if [ "${status[$t]}" = 0 ]; then result=ok; else result="CRASH (exit ${status[$t]})"; failed=1; fi
  printf '%-22s %14s %10s  %s\n' "$t" "${execs:-?}" "${secs:-?}" "$result"
  if [ "${status[$t]}" != 0 ]; then
    echo "---- $t: last lines of the libFuzzer log; the input is in fuzz/artifacts/$t/"
    tail -40 "$log"
  fi
done

# Inputs that once found a bug (fuzz/regressions/<target>/<input>): each
# must pass now, with every check on.
for dir in regressions/*/; do
  [ -d "$dir" ] || continue
  t="$(basename "$dir")"
  [[ " ${TARGETS[*]} " == *" $t "* ]] || continue
  for input in "$dir"*; do
    if "$BIN_DIR/$t" "$input" >"$SCRATCH/replay.log" 2>&1; then
      echo "regression $input: passes"
    else
      echo "regression $input: FAILS again"; tail -20 "$SCRATCH/replay.log"; failed=1
    fi
  done
done

if [ "$failed" != 0 ]; then
  echo "fuzz: FAILED" >&2
  exit 1
fi
echo "fuzz: all targets ran without a crash"
