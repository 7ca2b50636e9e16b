#!/usr/bin/env bash
# Puts the example repository under the state directory: the pinned source distribution,
# checksum verified, committed with a fixed author and date so its commit id is the same on
# every machine, and tagged v<version>.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SERA_ROOT"
source infra/example-repo.env

dest=$SERA_STATE_DIR/repos/$EXAMPLE_PACKAGE
tagname=v$EXAMPLE_VERSION
if git -C "$dest" rev-parse --verify -q "refs/tags/$tagname" >/dev/null 2>&1; then exit 0; fi

work=$(mktemp -d "$SERA_STATE_DIR/example.XXXXXX")
trap 'rm -rf "$work"' EXIT
say "downloading $EXAMPLE_PACKAGE $EXAMPLE_VERSION (source distribution)"
.venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
  -d "$work" "$EXAMPLE_PACKAGE==$EXAMPLE_VERSION" >"$work/pip.log" 2>&1 ||
  { cat "$work/pip.log" >&2; die "could not download $EXAMPLE_PACKAGE==$EXAMPLE_VERSION"; }
archive=$(ls "$work"/*.tar.gz)
echo "$EXAMPLE_SHA256  $archive" | sha256sum -c --quiet - ||
  die "checksum mismatch for $archive: expected $EXAMPLE_SHA256"
tar -xzf "$archive" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$src" "$dest"
export GIT_AUTHOR_NAME="SERA Flow" GIT_AUTHOR_EMAIL="sera-flow@localhost"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
git -C "$dest" init -q -b main
git -C "$dest" add -A
git -C "$dest" -c commit.gpgsign=false commit -q -m "$EXAMPLE_PACKAGE $EXAMPLE_VERSION from its source distribution"
git -C "$dest" tag "$tagname"
say "example repository: $dest at $tagname ($(git -C "$dest" rev-parse --short HEAD))"
