#!/usr/bin/env bash
# Points the `message` of every generated error variant at describeError()
# in src/main/kotlin/dev/tokenkeep/ErrorMessages.kt, the one place that
# words tokenkeep's errors for people.
#
# uniffi 0.32 renders a variant's message as a field dump
# (`get() = "detail=${ `detail` }, retryAfterSecs=${ `retryAfterSecs` }"`)
# and offers no option to change it. This rewrites exactly those getters and
# fails if it finds a different number than the error variants it expects,
# so a uniffi upgrade that changes the shape is noticed at build time.
set -euo pipefail
file="$1"
expected=13 # TokenKeepError: 8 variants, StoreError: 5 (see uniffi.toml)
pattern='^([[:space:]]*)get\(\) = "[^"]*detail=\$\{ `detail` \}[^"]*"$'
found="$(grep -cE "$pattern" "$file" || true)"
if [ "$found" != "$expected" ]; then
  echo "shape-error-messages.sh: expected $expected generated error message getters in $file, found $found;" >&2
  echo "  update uniffi.toml's renames, ErrorMessages.kt and this count together." >&2
  exit 1
fi
sed -i -E "s/$pattern/\\1get() = describeError(this)/" "$file"
left="$(grep -cE "$pattern" "$file" || true)"
[ "$left" = 0 ] || { echo "shape-error-messages.sh: $left getters left unshaped" >&2; exit 1; }
