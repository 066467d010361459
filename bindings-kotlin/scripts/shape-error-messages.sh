#!/usr/bin/env bash
# Makes the `message` of every generated error say what the core says.
#
# uniffi 0.32 renders a variant's message as a field dump
# (`get() = "detail=${ `detail` }, oauthError=${ `oauthError` }"`) and offers
# no option to change it. This rewrites exactly those getters:
#
# * TokenKeepException (8 variants): `message` is `toString()`, which the
#   generated class already takes from the core's exported `Display`
#   ("session expired, sign in again: …"), so Kotlin, Java, Python, Swift and
#   Rust word every error the same;
# * StoreException (5 variants, raised by stores): `message` is `detail`, the
#   store's own wording.
#
# It fails if it finds a different number of getters than expected, so a
# uniffi upgrade or a new variant is noticed at build time.
set -euo pipefail
file="$1"
expected=13 # TokenKeepError: 8 variants, StoreError: 5
pattern='^([[:space:]]*)get\(\) = "[^"]*detail=\$\{ `detail` \}[^"]*"$'
found="$(grep -cE "$pattern" "$file" || true)"
if [ "$found" != "$expected" ]; then
  echo "shape-error-messages.sh: expected $expected generated error message getters in $file, found $found;" >&2
  echo "  update this script's count and its two rewrites together." >&2
  exit 1
fi
# Within `sealed class StoreException` the getter returns the detail; every
# other matching getter belongs to TokenKeepException.
sed -i -E "/^sealed class StoreException/,/^}/ s/$pattern/\\1get() = \`detail\`/" "$file"
sed -i -E "s/$pattern/\\1get() = toString()/" "$file"
left="$(grep -cE "$pattern" "$file" || true)"
[ "$left" = 0 ] || { echo "shape-error-messages.sh: $left getters left unshaped" >&2; exit 1; }
[ "$(grep -c 'get() = toString()' "$file")" = 8 ] || { echo "shape-error-messages.sh: expected 8 TokenKeepException getters" >&2; exit 1; }
