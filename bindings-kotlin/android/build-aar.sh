#!/usr/bin/env bash
# Builds the tokenkeep Android library (AAR):
#
#   1. the core for three Android ABIs with cargo-ndk, into generated/jniLibs/<abi>/:
#        aarch64-linux-android   -> arm64-v8a
#        armv7-linux-androideabi -> armeabi-v7a
#        x86_64-linux-android    -> x86_64      (the emulator)
#   2. the Kotlin bindings, generated with `android = true` (Android's
#      cleaner) into generated/uniffi, their error messages shaped as
#      for the JVM (../scripts/shape-error-messages.sh);
#   3. `gradle assembleRelease` on this folder's library module, which
#      compiles ../src/main/kotlin (the same layer as the JAR) with them:
#      build/outputs/aar/tokenkeep-android-release.aar.
#
# Needs: rustup targets (rustup target add aarch64-linux-android
# armv7-linux-androideabi x86_64-linux-android), cargo-ndk (cargo install
# cargo-ndk), an NDK (ANDROID_NDK_HOME; r28 or later links 16 KB-aligned
# libraries, which Android 15 devices with 16 KB pages require), the Android
# SDK (ANDROID_HOME) and Gradle 8.9+ (gradle on PATH, or GRADLE=/path/to/gradlew).
#
#   bindings-kotlin/android/build-aar.sh               # everything
#   bindings-kotlin/android/build-aar.sh --bindings    # step 2 only (needs no Android tools)
#   bindings-kotlin/android/build-aar.sh --check       # report missing tools and stop
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kotlin_dir="$(cd "$here/.." && pwd)"
root="$(cd "$kotlin_dir/.." && pwd)"
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

mode=all
case "${1:-}" in
  --bindings) mode=bindings ;;
  --check) mode=check ;;
  "") ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$here/build-aar.sh"; exit 0 ;;
  *) echo "build-aar.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac

min_api=24 # CompletableFuture (the …Async methods) is API 24+
targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
abis=(arm64-v8a armeabi-v7a x86_64)
gradle="${GRADLE:-gradle}"

missing=()
check_tools() {
  command -v cargo >/dev/null || missing+=("cargo")
  cargo ndk --version >/dev/null 2>&1 || missing+=("cargo-ndk (cargo install cargo-ndk)")
  local installed
  installed="$(rustup target list --installed 2>/dev/null || true)"
  for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("rust target $t (rustup target add $t)")
  done
  [ -n "${ANDROID_NDK_HOME:-}" ] && [ -d "${ANDROID_NDK_HOME}" ] || missing+=("an Android NDK (ANDROID_NDK_HOME)")
  [ -n "${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}" ] || missing+=("the Android SDK (ANDROID_HOME)")
  command -v "$gradle" >/dev/null || missing+=("Gradle 8.9+ (gradle on PATH or GRADLE=...)")
}

generate_bindings() {
  # Metadata is the same for every target: generate from the host build.
  (cd "$root" && cargo build --release -p tokenkeep)
  local target_dir lib config out
  target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
  lib="$target_dir/release/libtokenkeep.so"
  config="$here/generated/uniffi-android.toml"
  out="$here/generated/uniffi"
  mkdir -p "$here/generated"
  # The JVM config plus `android = true`.
  sed 's/^\[crates\.tokenkeep\.bindings\.kotlin\]$/&\nandroid = true/' "$kotlin_dir/uniffi.toml" >"$config"
  grep -q '^android = true$' "$config" || { echo "build-aar.sh: could not derive $config" >&2; exit 1; }
  rm -rf "$out"
  (cd "$root" && cargo run --quiet -p uniffi-bindgen -- generate "$lib" \
    --language kotlin --out-dir "$out" --no-format --config "$config")
  "$kotlin_dir/scripts/shape-error-messages.sh" "$out/dev/tokenkeep/ffi/tokenkeep.kt"
  echo "build-aar.sh: Android bindings in ${out#"$root"/}"
}

build_native() {
  local jni="$here/generated/jniLibs"
  rm -rf "$jni"
  local args=()
  for abi in "${abis[@]}"; do args+=(-t "$abi"); done
  (cd "$root" && cargo ndk "${args[@]}" --platform "$min_api" -o "$jni" build --release -p tokenkeep)
  for abi in "${abis[@]}"; do
    [ -f "$jni/$abi/libtokenkeep.so" ] || { echo "build-aar.sh: cargo-ndk wrote no $abi/libtokenkeep.so" >&2; exit 1; }
  done
  echo "build-aar.sh: native libraries in ${jni#"$root"/}"
}

case "$mode" in
  bindings)
    generate_bindings
    ;;
  check|all)
    check_tools
    if [ ${#missing[@]} -gt 0 ]; then
      echo "build-aar.sh: cannot build the AAR on this machine; missing:" >&2
      printf '  - %s\n' "${missing[@]}" >&2
      exit 1
    fi
    [ "$mode" = check ] && { echo "build-aar.sh: all tools present"; exit 0; }
    build_native
    generate_bindings
    "$gradle" -p "$here" --no-daemon assembleRelease
    ls -l "$here"/build/outputs/aar/*.aar
    ;;
esac
