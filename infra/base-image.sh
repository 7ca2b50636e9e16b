#!/usr/bin/env bash
# Builds the sandbox base image with debootstrap and `docker import`, because no registry serves
# images here. The tag is a hash of infra/base-image.recipe; an existing tag is never rebuilt.
# The Debian mirror is read from this machine's apt sources at run time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SERA_ROOT"

recipe=infra/base-image.recipe
tag="sera-base:$(sha256sum "$recipe" | cut -c1-12)"
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi

value() { sed -n "s/^$1=//p" "$recipe"; }
suite=$(value suite)
variant=$(value variant)
packages=$(value packages)

# The first plain Debian archive named in the apt sources (deb822 or one-line format).
mirror=${SERA_DEBIAN_MIRROR:-$(
  {
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | tr ' ' '\n' | grep -v -- '-security' | grep . | head -n 1 || true
)}
[ -n "$mirror" ] || die "no Debian mirror found in the apt sources: set SERA_DEBIAN_MIRROR"
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap

work=$(mktemp -d "$SERA_STATE_DIR/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
say "building $tag with debootstrap ($suite, $variant) — about a minute"
debootstrap --variant="$variant" --include="$packages" "$suite" "$work/rootfs" "$mirror" \
  >"$SERA_STATE_DIR/debootstrap.log" 2>&1 ||
  die "debootstrap failed: see $SERA_STATE_DIR/debootstrap.log"
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -c . | docker import --change 'CMD ["sleep", "infinity"]' - "$tag" >/dev/null ||
  die "docker import of the base image failed"
say "built $tag"
