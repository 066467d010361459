#!/usr/bin/env bash
# Builds Generated/tokenkeepFFI.xcframework for Apple platforms, plus the
# generated Swift sources, so that Package.swift's `tokenkeepFFI` binary
# target resolves on macOS/Xcode. Needs macOS with Xcode and rustup.
#
#   slices:  iOS device       aarch64-apple-ios
#            iOS simulator    aarch64-apple-ios-sim + x86_64-apple-ios   (lipo)
#            macOS            aarch64-apple-darwin  + x86_64-apple-darwin (lipo)
#
# Each slice is the core's static library (crate-type "staticlib"); the
# header and module map come from uniffi-bindgen, run on the host build
# (generate.sh), before anything is stripped.
#
# Usage: build-xcframework.sh [--zip]
#   --zip  also writes Generated/tokenkeepFFI.xcframework.zip and prints the
#          checksum for a `.binaryTarget(url:checksum:)` in a release manifest.
# Environment: IPHONEOS_DEPLOYMENT_TARGET (16.0), MACOSX_DEPLOYMENT_TARGET (13.0).
#
# This script cannot run on the project's Linux machines; it is kept to the
# standard steps (cargo --target, lipo, xcodebuild -create-xcframework).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

[ "$(uname)" = Darwin ] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }
command -v xcodebuild >/dev/null || { echo "xcodebuild not found: install Xcode" >&2; exit 1; }

zip=0
[ "${1:-}" = --zip ] && zip=1

export IPHONEOS_DEPLOYMENT_TARGET=${IPHONEOS_DEPLOYMENT_TARGET:-16.0}
export MACOSX_DEPLOYMENT_TARGET=${MACOSX_DEPLOYMENT_TARGET:-13.0}
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"

cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
for target in "${targets[@]}"; do
  echo "==> cargo build --release -p tokenkeep --target $target"
  cargo build --locked --release -p tokenkeep --target "$target"
done

# Header, module map and Swift sources, from the host's dynamic library.
"$here/generate.sh"

out="$here/Generated"
work="$out/xcframework-build"
rm -rf "$work" "$out/tokenkeepFFI.xcframework"
mkdir -p "$work/headers" "$work/ios" "$work/ios-simulator" "$work/macos"
cp "$out/tokenkeepFFI/tokenkeepFFI.h" "$out/tokenkeepFFI/module.modulemap" "$work/headers/"

lib() { echo "$target_dir/$1/release/libtokenkeep.a"; }
cp "$(lib aarch64-apple-ios)" "$work/ios/libtokenkeep.a"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/ios-simulator/libtokenkeep.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/macos/libtokenkeep.a"
# Debug info only; the symbols stay (the app's linker needs them).
for slice in ios ios-simulator macos; do strip -S "$work/$slice/libtokenkeep.a" 2>/dev/null || true; done

xcodebuild -create-xcframework \
  -library "$work/ios/libtokenkeep.a" -headers "$work/headers" \
  -library "$work/ios-simulator/libtokenkeep.a" -headers "$work/headers" \
  -library "$work/macos/libtokenkeep.a" -headers "$work/headers" \
  -output "$out/tokenkeepFFI.xcframework"
rm -rf "$work"
echo "built $out/tokenkeepFFI.xcframework"

if [ "$zip" = 1 ]; then
  (cd "$out" && rm -f tokenkeepFFI.xcframework.zip && zip -qry tokenkeepFFI.xcframework.zip tokenkeepFFI.xcframework)
  echo "zip: $out/tokenkeepFFI.xcframework.zip"
  echo "checksum: $(cd "$here" && swift package compute-checksum Generated/tokenkeepFFI.xcframework.zip)"
fi
