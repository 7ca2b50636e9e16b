#!/usr/bin/env bash
# Puts the example library's release history under the state directory: each pinned source
# distribution (checksum verified) committed on the previous one, with a fixed author and date per
# release, so every commit id is the same on every machine. The commit message is the release's
# section of the library's own changelog: the evaluation set's problem statements come from it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SERA_ROOT"
source infra/example-repo.env

dest=$SERA_STATE_DIR/repos/$EXAMPLE_PACKAGE-history
# Rebuilt whenever the pinned list changes.
stamp=$dest/.git/sera-history-$(printf '%s' "$EXAMPLE_HISTORY" | sha256sum | cut -c1-16)
if [ -f "$stamp" ]; then exit 0; fi

work=$(mktemp -d "$SERA_STATE_DIR/history.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$dest"
mkdir -p "$dest"
git -C "$dest" init -q -b main
export GIT_AUTHOR_NAME="SERA Flow" GIT_AUTHOR_EMAIL="sera-flow@localhost"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
day=1
while IFS=: read -r version sha; do
  say "history: $EXAMPLE_PACKAGE $version"
  .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$work/$version" "$EXAMPLE_PACKAGE==$version" >"$work/pip.log" 2>&1 ||
    { cat "$work/pip.log" >&2; die "could not download $EXAMPLE_PACKAGE==$version"; }
  archive=$(ls "$work/$version"/*.tar.gz)
  echo "$sha  $archive" | sha256sum -c --quiet - || die "checksum mismatch for $archive: expected $sha"
  tar -xzf "$archive" -C "$work/$version"
  src=$(find "$work/$version" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  # The tree becomes exactly this release: files it dropped are deleted.
  git -C "$dest" rm -rq --ignore-unmatch .
  cp -a "$src/." "$dest/"
  {
    echo "$EXAMPLE_PACKAGE $version"
    echo
    # The release's changelog section: from its heading to the next release's heading.
    awk -v v="$version" '
      $0 == v { on = 1; getline; next }
      on && /^[0-9]+\.[0-9]+\.[0-9]+$/ { exit }
      on { print }
    ' "$src/docs/versions.rst" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
  } >"$work/message"
  export GIT_AUTHOR_DATE="2024-01-$(printf %02d "$day")T00:00:00Z" GIT_COMMITTER_DATE="2024-01-$(printf %02d "$day")T00:00:00Z"
  git -C "$dest" add -A
  git -C "$dest" -c commit.gpgsign=false commit -q -F "$work/message"
  git -C "$dest" tag "v$version"
  day=$((day + 1))
done <<<"$EXAMPLE_HISTORY"
touch "$stamp"
say "example history: $dest ($(git -C "$dest" tag | tr '\n' ' '))"
