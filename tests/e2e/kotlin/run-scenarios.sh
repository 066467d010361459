#!/usr/bin/env bash
# Runs the shared e2e scenarios from Kotlin: dev.tokenkeep.e2e.Main, compiled
# from bindings-kotlin/src/e2e/kotlin by the Maven profile `e2e` (into
# target/test-classes, never into the JAR), against $E2E_ISSUER. It prints one
# line per scenario, writes $E2E_RESULTS_DIR/kotlin.json and exits non-zero if
# any scenario failed.
#
# What bindings-kotlin/run-tests.sh built is reused when it is current: the
# layer and the generated bindings compiled in bindings-kotlin/target/classes,
# with the native library beside them. It is current when the core library
# (`cargo build --release`, a no-op when nothing changed) is not newer than
# the copy staged there, and no file of the layer or its build (src/main,
# pom.xml, build.sh, uniffi.toml, scripts/) is newer than the compiled layer.
# Then only src/e2e is compiled; otherwise Maven builds the SDK first
# (build.sh: core, bindings, library; the layer; no tests run). The build's
# output goes to bindings-kotlin/target/e2e-build.log, shown on failure.
#
# Environment: E2E_ISSUER, E2E_SCENARIOS, E2E_RESULTS_DIR (set by
# tests/e2e/run.sh); E2E_KOTLIN_TIMEOUT, seconds allowed for the build and
# again for the run (default 1200).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
project="$repo/bindings-kotlin"
: "${E2E_ISSUER:?is not set (run tests/e2e/run.sh)}"
: "${E2E_SCENARIOS:?is not set (run tests/e2e/run.sh)}"
: "${E2E_RESULTS_DIR:?is not set (run tests/e2e/run.sh)}"
timeout_secs=${E2E_KOTLIN_TIMEOUT:-1200}
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
for tool in cargo java mvn; do
  command -v "$tool" >/dev/null || { echo "run-scenarios.sh: $tool is not installed" >&2; exit 1; }
done

cd "$project"
target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
(cd "$repo" && cargo build --quiet --release -p tokenkeep)

# The library as built, and the copy Maven staged under JNA's resource prefix.
built=
staged=
for name in libtokenkeep.so libtokenkeep.dylib tokenkeep.dll; do
  if [ -f "$target_dir/release/$name" ]; then
    built="$target_dir/release/$name"
    staged="$(find target/classes -mindepth 2 -maxdepth 2 -name "$name" -print -quit 2>/dev/null || true)"
    break
  fi
done
compiled=target/classes/dev/tokenkeep/TokenKeeper.class
why=
if [ ! -f "$compiled" ] || [ -z "$staged" ]; then
  why="bindings-kotlin/target/classes holds no build"
elif [ "$built" -nt "$staged" ]; then
  why="the core library changed since it was built"
elif [ -n "$(find src/main pom.xml build.sh uniffi.toml scripts -newer "$compiled" -print -quit)" ]; then
  why="the Kotlin layer or its build changed since it was compiled"
fi

mkdir -p target
log=target/e2e-build.log
if [ -n "$why" ]; then
  echo "run-scenarios.sh: building the Kotlin SDK first: $why" >&2
  build=(-DskipTests test-compile)
else
  echo "run-scenarios.sh: reusing the Kotlin SDK in bindings-kotlin/target/classes" >&2
  build=(kotlin:test-compile@e2e-compile)
fi
if ! timeout "$timeout_secs" mvn -B -ntp -Pe2e "${build[@]}" \
    dependency:build-classpath -Dmdep.outputFile=target/e2e.classpath -Dmdep.includeScope=test >"$log" 2>&1; then
  echo "run-scenarios.sh: the build failed; the end of bindings-kotlin/$log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi

exec timeout "$timeout_secs" java -cp "target/test-classes:target/classes:$(cat target/e2e.classpath)" dev.tokenkeep.e2e.Main
