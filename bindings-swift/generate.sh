#!/usr/bin/env bash
# Builds the core and generates the Swift bindings into Generated/ (gitignored):
#
#   Generated/tokenkeepFFI/tokenkeepFFI.h     the C declarations of the core's FFI
#   Generated/tokenkeepFFI/module.modulemap   the clang module `tokenkeepFFI` (SwiftPM wants this exact name)
#   Generated/Swift/tokenkeep.swift           the generated Swift API (target TokenKeepGenerated)
#   Generated/lib/libtokenkeep.so             (Linux) a copy of the very library the bindings were
#                                             generated from, which the package links: a later
#                                             `cargo build` elsewhere in the workspace cannot
#                                             swap in a library whose FFI no longer matches
#
# Usage: generate.sh [--no-build] [--profile release|debug]
# Environment: CARGO_TARGET_DIR is honoured; the library used is printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

build=1 profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --profile) profile=$2; shift ;;
    *) echo "generate.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
if [ "$build" = 1 ]; then
  if [ "$profile" = release ]; then
    cargo build --locked --release -p tokenkeep
  else
    cargo build --locked -p tokenkeep
  fi
fi
lib="$target_dir/$profile/libtokenkeep.so"
[ "$(uname)" = Darwin ] && lib="$target_dir/$profile/libtokenkeep.dylib"
[ -f "$lib" ] || { echo "generate.sh: $lib is missing; build the core first" >&2; exit 1; }

out="$here/Generated"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Snapshot the library first, then generate from the snapshot.
mkdir -p "$out/tokenkeepFFI" "$out/Swift" "$out/lib"
snapshot="$out/lib/$(basename "$lib")"
cp "$lib" "$snapshot.tmp" && mv -f "$snapshot.tmp" "$snapshot"
lib=$snapshot

# --no-format: swift-format is not needed, and its absence is not an error.
cargo run --locked --quiet -p uniffi-bindgen -- generate "$lib" --language swift \
  --config "$here/uniffi-swift.toml" --no-format --out-dir "$tmp"
cp "$tmp/tokenkeepFFI.h" "$out/tokenkeepFFI/tokenkeepFFI.h"
cp "$tmp/tokenkeepFFI.modulemap" "$out/tokenkeepFFI/module.modulemap"
cp "$tmp/tokenkeep.swift" "$out/Swift/tokenkeep.swift"
echo "generated Swift bindings from $lib into $out" >&2
