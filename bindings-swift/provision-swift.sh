#!/usr/bin/env bash
# Provides a Swift 6 toolchain on a machine that has none, from Debian 13.
#
#   provision-swift.sh                      provision (or reuse) the chroot; print its path, time and size
#   provision-swift.sh run REPO [CMD...]    provision, mount, run CMD in REPO inside the chroot, unmount
#
# Debian 12 has no Swift package; Debian 13 ("trixie") has `swiftlang`
# (Swift 6.0). This script bootstraps a minimal trixie root with debootstrap
# and installs the toolchain in it without recommends. The directory is
# reused when it already has swift, so only the first run pays (measured on
# a 2-core VM: 70 s and 2.7 GB).
#
# For `run`, /proc and /dev are mounted in the chroot and REPO is
# bind-mounted at the same absolute path, so paths (the core library
# snapshot in bindings-swift/Generated/lib, rpaths, the fixture server
# binary) read the same on both sides. Everything mounted is unmounted on exit, failure or signal.
# A lock file serialises concurrent runs on the same directory.
#
# Environment:
#   TOKENKEEP_SWIFT_CHROOT  the chroot directory (default /var/cache/tokenkeep/swift-trixie)
#   TOKENKEEP_DEBIAN_MIRROR the Debian mirror (default: debootstrap's, deb.debian.org)
#   TOKENKEEP_PROVISION_TIMEOUT  seconds each provisioning step may take (default 1800)
#
# Needs root (debootstrap, chroot, mount). Non-interactive: no prompts, no stdin.
set -euo pipefail

DIR="${TOKENKEEP_SWIFT_CHROOT:-/var/cache/tokenkeep/swift-trixie}"
MIRROR="${TOKENKEEP_DEBIAN_MIRROR:-}"
STEP_TIMEOUT="${TOKENKEEP_PROVISION_TIMEOUT:-1800}"
SUITE=trixie
# swiftlang: compiler, SwiftPM, Foundation, XCTest. libc6-dev: headers and
# crt files for linking. libcurl4-openssl-dev and libxml2-dev:
# FoundationNetworking (URLSession) and FoundationXML link against them.
# ca-certificates: HTTPS from URLSession.
PACKAGES=(swiftlang libc6-dev libcurl4-openssl-dev libxml2-dev ca-certificates)

export DEBIAN_FRONTEND=noninteractive CI="${CI:-true}"

log() { printf '[provision-swift] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mount)"

# /usr/bin/swift is a symlink to an absolute path inside the chroot, so test
# for the link, not for what it points to from the host.
has_swift() { [ -f "$DIR/.tokenkeep-provisioned" ] && [ -L "$DIR/usr/bin/swift" -o -x "$DIR/usr/bin/swift" ]; }

# Runs a command in the chroot with a clean environment, bounded in time.
in_chroot() {
  timeout "$STEP_TIMEOUT" chroot "$DIR" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}

provision() {
  if has_swift; then
    log "reusing $DIR (provisioned $(cat "$DIR/.tokenkeep-provisioned"))"
    return 0
  fi
  local started=$SECONDS
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap on the host"
    timeout "$STEP_TIMEOUT" apt-get update -q </dev/null
    timeout "$STEP_TIMEOUT" apt-get install -y -q debootstrap </dev/null
  fi
  mkdir -p "$DIR"
  if [ ! -x "$DIR/usr/bin/apt-get" ]; then
    log "debootstrap --variant=minbase $SUITE $DIR ${MIRROR}"
    # A half-finished earlier attempt leaves debootstrap's work files; start over.
    if [ -d "$DIR/debootstrap" ]; then
      unmount_all
      # A bind mount of the same disk would not stop --one-file-system:
      # never delete while anything is still mounted below DIR.
      [ -z "$(mounts_under_dir)" ] || die "still mounted under $DIR: $(mounts_under_dir | tr '\n' ' ')"
      rm -rf --one-file-system "$DIR"
      mkdir -p "$DIR"
    fi
    timeout "$STEP_TIMEOUT" debootstrap --variant=minbase "$SUITE" "$DIR" ${MIRROR:+"$MIRROR"} </dev/null >&2
  fi
  # apt in the chroot needs name resolution.
  cp -L /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
  mount_basics
  log "apt-get install ${PACKAGES[*]} (in the chroot, without recommends)"
  in_chroot apt-get update -q </dev/null >&2
  in_chroot apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" </dev/null >&2
  in_chroot apt-get clean
  in_chroot swift --version >&2 || die "swift does not run in $DIR"
  date -u +%FT%TZ >"$DIR/.tokenkeep-provisioned"
  log "provisioned in $((SECONDS - started)) s"
}

MOUNTED=()

mount_one() { # mount_one TARGET MOUNT-ARGS...
  local target=$1; shift
  mkdir -p "$target"
  if mountpoint -q "$target"; then
    return 0 # left by a run that was killed before its trap ran; reuse it
  fi
  mount "$@" "$target"
  MOUNTED+=("$target")
}

mount_basics() {
  mount_one "$DIR/proc" -t proc proc
  mount_one "$DIR/dev" --bind /dev
  mount_one "$DIR/dev/pts" --bind /dev/pts
}

# Unmounts what this run mounted, innermost first, then anything else still
# mounted under DIR (a killed earlier run), lazily if it is busy.
unmount_all() {
  local i target
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    target=${MOUNTED[$i]}
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || log "could not unmount $target"
  done
  MOUNTED=()
  mounts_under_dir | while read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || log "could not unmount $target"
  done
}

# The mount points at or below DIR, innermost first.
mounts_under_dir() {
  [ -d "$DIR" ] || return 0
  awk -v root="$(realpath "$DIR")" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

size_report() {
  log "chroot size: $(du -sh --one-file-system "$DIR" 2>/dev/null | cut -f1) in $DIR"
}

mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
if ! flock -w "$STEP_TIMEOUT" 9; then
  die "another provisioning or test run holds $DIR.lock"
fi
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case "${1:-provision}" in
  provision)
    provision
    unmount_all
    size_report
    echo "$DIR"
    ;;
  run)
    [ $# -ge 2 ] || die "usage: $0 run REPO [CMD...]"
    REPO=$(realpath "$2"); shift 2
    [ $# -gt 0 ] || set -- swift --version
    provision
    mount_basics
    mount_one "$DIR$REPO" --bind "$REPO"
    cp -L /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
    # In the background and waited for, so that a signal to this script is
    # handled at once: passed on to the command, then the EXIT trap unmounts.
    chroot "$DIR" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 CI=true \
      TOKENKEEP_LIB_DIR="${TOKENKEEP_LIB_DIR:-}" TOKENKEEP_FIXTURE_SERVER="${TOKENKEEP_FIXTURE_SERVER:-}" \
      /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$REPO" "$@" </dev/null &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
    trap 'kill -INT "$child" 2>/dev/null; wait "$child"; exit 130' INT
    status=0
    wait "$child" || status=$?
    exit $status
    ;;
  *)
    die "unknown command \`$1\` (provision | run REPO [CMD...])"
    ;;
esac
