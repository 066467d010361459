#!/usr/bin/env bash
# Gets the package ready to build: the generated bindings in Generated/
# current with the core, and .build/ consistent with them.
#
#   prepare.sh               regenerate only when Generated/ is missing or stale
#   prepare.sh --regenerate  always regenerate (what run-tests.sh does)
#
# Linux: builds the core (release; a no-op when it is up to date), then runs
# generate.sh when a generated file is missing, when the built library differs
# from the snapshot in Generated/lib that the bindings were generated from, or
# when uniffi-swift.toml is newer than them. Apple: runs build-xcframework.sh
# when the XCFramework is missing (staleness is not detected there: pass
# --regenerate after changing the core).
#
# Then, because SwiftPM's incremental build does not always notice that a
# dependency's generated API changed (stale symbols at link time), .build/ is
# removed when the generated code differs from what it was built with.
#
# Environment: CARGO_TARGET_DIR is honoured.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

regenerate=0
case "${1:-}" in
  "") ;;
  --regenerate) regenerate=1 ;;
  *) echo "prepare.sh: unknown argument $1" >&2; exit 2 ;;
esac

swift_out="$here/Generated/Swift/tokenkeep.swift"
header="$here/Generated/tokenkeepFFI/tokenkeepFFI.h"
if [ "$(uname)" = Darwin ]; then
  if [ "$regenerate" = 1 ] || [ ! -d "$here/Generated/tokenkeepFFI.xcframework" ] || [ ! -f "$swift_out" ]; then
    "$here/build-xcframework.sh"
  fi
else
  if [ "$regenerate" = 1 ]; then
    "$here/generate.sh"
  else
    (cd "$repo" && cargo build --locked --release -p tokenkeep)
    built="${CARGO_TARGET_DIR:-$repo/target}/release/libtokenkeep.so"
    snapshot="$here/Generated/lib/libtokenkeep.so"
    why=
    for file in "$swift_out" "$header" "$here/Generated/tokenkeepFFI/module.modulemap" "$snapshot"; do
      [ -f "$file" ] || why="${file#"$here/"} is missing"
    done
    if [ -z "$why" ] && ! cmp -s "$built" "$snapshot"; then
      why="the core library changed since the bindings were generated"
    elif [ -z "$why" ] && [ "$here/uniffi-swift.toml" -nt "$swift_out" ]; then
      why="uniffi-swift.toml changed since the bindings were generated"
    fi
    if [ -n "$why" ]; then
      echo "prepare.sh: regenerating the bindings: $why" >&2
      "$here/generate.sh" --no-build
    else
      echo "prepare.sh: the generated bindings in Generated/ are current" >&2
    fi
  fi
fi

stamp="$here/.build/.tokenkeep-generated"
generated=$(cat "$swift_out" "$header" 2>/dev/null | cksum)
if [ -d "$here/.build" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$generated" ]; then
  echo "prepare.sh: the generated code changed since .build/ was made; removing it" >&2
  rm -rf "$here/.build"
fi
mkdir -p "$here/.build"
echo "$generated" >"$stamp"
