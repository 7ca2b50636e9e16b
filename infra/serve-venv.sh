#!/usr/bin/env bash
# Installs the serving engine (vLLM's CPU build) into its own virtualenv, .venv-serve: it pins a
# torch and a transformers of its own, which must not move the trainer's. Keyed by the
# requirements file's hash, so a second run does nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SERA_ROOT"

venv=.venv-serve
stamp="$venv/.requirements-$(file_hash infra/requirements-serve.txt)"
if [ -f "$stamp" ]; then exit 0; fi
say "creating $venv (vLLM CPU build, a few minutes)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r infra/requirements-serve.txt \
  >"$SERA_STATE_DIR/serve-venv.log" 2>&1 ||
  { tail -20 "$SERA_STATE_DIR/serve-venv.log" >&2; die "installing the serving engine failed: see $SERA_STATE_DIR/serve-venv.log"; }
# These come along and break imports beside this torch (`operator torchvision::nms does not exist`);
# a text-only server needs none of them.
"$venv/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
"$venv/bin/python" -c 'import vllm.entrypoints.openai.api_server' 2>"$SERA_STATE_DIR/serve-venv.log" ||
  { tail -20 "$SERA_STATE_DIR/serve-venv.log" >&2; die "vLLM does not import: see $SERA_STATE_DIR/serve-venv.log"; }
rm -f "$venv"/.requirements-*
touch "$stamp"
say "serving engine: $("$venv/bin/python" -c 'import vllm; print("vllm", vllm.__version__)')"
