#!/usr/bin/env bash
# Builds what the JVM artifact is made of, from the Rust workspace:
#
#   1. the core library, release profile (`cargo build --release -p tokenkeep`,
#      shared with the Python wheel build), for each requested target;
#   2. the Kotlin bindings (package dev.tokenkeep.ffi), generated from that
#      library by the workspace's pinned uniffi-bindgen into
#      target/generated-sources/uniffi;
#   3. the library copied under JNA's resource prefix
#      (target/generated-resources/native/linux-x86-64/libtokenkeep.so, ...),
#      so `Native.load` finds it inside the JAR with no library path.
#
# Maven runs this in `generate-sources` (see pom.xml); run it by hand to
# build for other platforms:
#
#   bindings-kotlin/build.sh                                   # this machine
#   bindings-kotlin/build.sh --target aarch64-unknown-linux-gnu --target x86_64-unknown-linux-gnu
#   bindings-kotlin/build.sh --fixture-server                  # also the test server (debug)
#   bindings-kotlin/build.sh --only-fixture-server             # just the test server (Maven's test phase)
#
# Targets and their JNA prefixes: x86_64-unknown-linux-gnu linux-x86-64,
# aarch64-unknown-linux-gnu linux-aarch64, aarch64-apple-darwin darwin-aarch64,
# x86_64-apple-darwin darwin-x86-64, x86_64-pc-windows-{msvc,gnu} win32-x86-64.
# Cross targets need their Rust target and linker installed (rustup target
# add ..., a cross linker); nothing here installs them. The bindings always
# come from this machine's build (a library linked without its symbol table,
# as `cargo zigbuild` does, carries no uniffi metadata).
# A Maven build takes the same list: mvn package -Dtokenkeep.rustTargets=a,b
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

targets=()
fixture=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) targets+=("$2"); shift 2 ;;
    --targets) IFS=',' read -r -a more <<<"$2"; for t in "${more[@]}"; do [ -n "$t" ] && targets+=("$t"); done; shift 2 ;;
    --fixture-server) fixture=1; shift ;;
    --only-fixture-server) exec cargo build --quiet -p tokenkeep-fixture-server ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$here/build.sh"; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

host="$(rustc -vV | sed -n 's/^host: //p')"
[ ${#targets[@]} -eq 0 ] && targets=("$host")

# Where cargo puts its output (honours CARGO_TARGET_DIR and .cargo/config).
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$target_dir" ] || { echo "build.sh: cannot read cargo's target directory" >&2; exit 1; }

# JNA resource prefix and library file name of a Rust target triple.
jna_prefix() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo linux-x86-64 ;;
    aarch64-unknown-linux-gnu) echo linux-aarch64 ;;
    aarch64-apple-darwin) echo darwin-aarch64 ;;
    x86_64-apple-darwin) echo darwin-x86-64 ;;
    x86_64-pc-windows-msvc|x86_64-pc-windows-gnu) echo win32-x86-64 ;;
    *) echo "build.sh: no JNA prefix known for target $1" >&2; return 1 ;;
  esac
}
lib_name() {
  case "$1" in
    *-apple-*) echo libtokenkeep.dylib ;;
    *-windows-*) echo tokenkeep.dll ;;
    *) echo libtokenkeep.so ;;
  esac
}
lib_path() { # the built library of a target
  if [ "$1" = "$host" ]; then echo "$target_dir/release/$(lib_name "$1")"
  else echo "$target_dir/$1/release/$(lib_name "$1")"; fi
}

cargo build --release -p tokenkeep # this machine's, for the bindings
for t in "${targets[@]}"; do
  jna_prefix "$t" >/dev/null
  [ "$t" = "$host" ] || cargo build --release -p tokenkeep --target "$t"
done
if [ "$fixture" = 1 ]; then
  cargo build -p tokenkeep-fixture-server
fi

# 1. Bindings, from this machine's library (the metadata is the same in all).
gen="$here/target/generated-sources/uniffi"
rm -rf "$gen"
mkdir -p "$gen"
cargo run --quiet -p uniffi-bindgen -- generate "$(lib_path "$host")" \
  --language kotlin --out-dir "$gen" --no-format --config "$here/uniffi.toml"
generated="$gen/dev/tokenkeep/ffi/tokenkeep.kt"
[ -f "$generated" ] || { echo "build.sh: uniffi-bindgen wrote no $generated" >&2; exit 1; }

# 2. Error messages. uniffi renders an error's `message` as a field dump
# ("detail=..., oauthError=..."); each variant's getter is pointed at the
# core's Display (see scripts/shape-error-messages.sh).
"$here/scripts/shape-error-messages.sh" "$generated"

# 3. Native libraries under JNA's resource prefixes.
res="$here/target/generated-resources/native"
rm -rf "$res"
for t in "${targets[@]}"; do
  dir="$res/$(jna_prefix "$t")"
  mkdir -p "$dir"
  cp "$(lib_path "$t")" "$dir/"
  # The symbol table off the copy only: the bindings were generated above
  # from the original, whose symbols carry the uniffi metadata; loading needs
  # only the dynamic symbols, which stay (8.3 MB -> 6.9 MB on x86-64 Linux).
  if [ "$t" = "$host" ] && [[ "$t" == *-linux-* ]] && command -v strip >/dev/null; then
    strip --strip-unneeded "$dir/$(lib_name "$t")"
  fi
done
echo "build.sh: bindings in ${gen#"$root"/}, libraries in ${res#"$root"/}: $(cd "$res" && find . -type f | sed 's|^\./||' | tr '\n' ' ')"
