#!/usr/bin/env bash
# Clones the real repositories of examples/flask, examples/ufo and examples/uuid into the state
# directory (.sera/repos/<name>), with their whole history and release tags, checked out at the
# release the examples use. Takes them from git bundles when $SERA_REPO_BUNDLES names a folder
# holding them (machines with no code host), else from the public upstream repository.
# Usage: infra/real-repos.sh flask|ufo|uuid|all   (default: all)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# name  bundle file  upstream  release the examples check out
REPOS="flask pallets+flask.bundle https://github.com/pallets/flask.git 3.1.3
ufo unjs+ufo.bundle https://github.com/unjs/ufo.git v1.6.3
uuid google+uuid.bundle https://github.com/google/uuid.git v1.6.0"

clone_one() {
  local name=$1 bundle=$2 upstream=$3 release=$4
  local dest=$SERA_STATE_DIR/repos/$name
  if git -C "$dest" rev-parse --verify -q "refs/tags/$release^{commit}" >/dev/null 2>&1; then
    say "$name: already in $dest"
    return
  fi
  local source=$upstream
  if [ -n "${SERA_REPO_BUNDLES:-}" ] && [ -f "$SERA_REPO_BUNDLES/$bundle" ]; then
    source=$SERA_REPO_BUNDLES/$bundle
  fi
  say "$name: cloning $source"
  mkdir -p "$SERA_STATE_DIR/repos"
  local work
  work=$(mktemp -d "$SERA_STATE_DIR/repos/.$name.XXXXXX")
  # Some bundles name no HEAD (or one no branch holds): clone without a checkout, then check out
  # the release by its tag.
  git clone --quiet --no-checkout "$source" "$work/repo" || {
    rm -rf "$work"
    die "$name: could not clone $source"
  }
  git -C "$work/repo" -c advice.detachedHead=false checkout --quiet --detach "refs/tags/$release" || {
    rm -rf "$work"
    die "$name: $source has no tag $release"
  }
  rm -rf "$dest"
  mv "$work/repo" "$dest"
  rm -rf "$work"
  say "$name: $dest at $release ($(git -C "$dest" rev-parse --short HEAD))"
}

want=${1:-all}
case $want in
  flask | ufo | uuid | all) ;;
  *) die "usage: $0 flask|ufo|uuid|all" ;;
esac
while read -r name bundle upstream release; do
  if [ "$want" = all ] || [ "$want" = "$name" ]; then clone_one "$name" "$bundle" "$upstream" "$release"; fi
done <<<"$REPOS"
