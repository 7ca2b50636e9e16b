# Shared helpers for the set-up scripts. Sourced, never run.
# shellcheck shell=bash

SERA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERA_STATE_DIR=${SERA_STATE_DIR:-$SERA_ROOT/.sera}
mkdir -p "$SERA_STATE_DIR"

say() { printf '[setup] %s\n' "$*" >&2; }
die() {
  printf '[setup] error: %s\n' "$*" >&2
  exit 1
}

# Installs Debian packages when we are allowed to; otherwise tells the user what to install.
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing: $* — install these packages (needs root and apt-get), then run this again"
  fi
  if [ ! -f "$SERA_STATE_DIR/.apt-updated" ]; then
    say "apt-get update"
    apt-get update -qq || die "apt-get update failed: check the machine's package sources"
    touch "$SERA_STATE_DIR/.apt-updated"
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$SERA_STATE_DIR/apt.log" 2>&1 ||
    die "apt-get install $* failed: see $SERA_STATE_DIR/apt.log"
}

file_hash() { sha256sum "$@" | sha256sum | cut -c1-16; }
