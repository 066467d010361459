#!/usr/bin/env bash
# The Kotlin/Java SDK's tests, from a clean checkout:
#
#   1. `mvn -B test`: Maven runs build.sh (core library in release mode,
#      Kotlin bindings generated from it, the library staged under JNA's
#      resource prefix) and builds the fixture server, then runs the JUnit 5
#      suite (Kotlin and Java tests against the fixture server); surefire
#      prints its summary;
#   2. packages the JAR and loads tokenkeep from it alone (scripts/JarSmoke.java),
#      so the native library is proven to come out of the JAR.
#
# Exits non-zero on the first failure. Extra arguments go to the first
# Maven run (e.g. -Dtest=OkHttpTest). Uses Maven's default local repository.
set -euo pipefail
cd "$(dirname "$0")"
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
for tool in cargo java mvn; do
  command -v "$tool" >/dev/null || { echo "run-tests.sh: $tool is not installed" >&2; exit 1; }
done

# Where cargo puts the fixture server (honours CARGO_TARGET_DIR).
target_dir="$(cd .. && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
fixture="-Dtokenkeep.fixtureServer=$target_dir/debug/tokenkeep-fixture-server"

mvn -B -ntp test "$fixture" "$@"

echo "==> JAR: package and load from it alone"
mvn -B -ntp -q jar:jar dependency:build-classpath -Dmdep.outputFile=target/runtime.classpath -Dmdep.includeScope=runtime
jar="$(ls target/tokenkeep-*.jar | grep -v -e -sources -e -javadoc | sed -n 1p)"
listing="$(jar tf "$jar")"
for entry in linux-x86-64/libtokenkeep.so dev/tokenkeep/TokenKeeper.class dev/tokenkeep/ffi/TokenKeeper.class; do
  grep -qx "$entry" <<<"$listing" || { echo "run-tests.sh: $jar lacks $entry" >&2; exit 1; }
done
java -cp "$jar:$(cat target/runtime.classpath)" scripts/JarSmoke.java
