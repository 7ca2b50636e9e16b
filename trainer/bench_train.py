"""Tokens per second and peak memory of the SFT trainer, run directly (no Temporal).

    python trainer/bench_train.py --dataset train.jsonl --tokenizer DIR [--shape tiny|qwen3-0.6b]
        [--dtype fp32|bf16] [--steps N] [--out DIR]

Builds a random Qwen3 of the given shape (no weights needed), trains it for N steps on the
dataset with trainer/sft_train.py, and prints one JSON object: steady-state tokens/s (the
trainer's own per-step rate, first step left out), end-to-end tokens/s, peak RSS and, on CUDA,
peak GPU memory. The same code the gpu-train activity runs; on a GPU host run it with bf16.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = {
    "tiny": dict(hidden_size=128, intermediate_size=384, layers=2, heads=2, kv_heads=1, head_dim=64),
    # Qwen3's published architectures, with random weights.
    "qwen3-0.6b": dict(hidden_size=1024, intermediate_size=3072, layers=28, heads=16, kv_heads=8, head_dim=128),
    "qwen3-1.7b": dict(hidden_size=2048, intermediate_size=6144, layers=28, heads=16, kv_heads=8, head_dim=128),
    "qwen3-4b": dict(hidden_size=2560, intermediate_size=9728, layers=36, heads=32, kv_heads=8, head_dim=128),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--accumulation", type=int, default=2)
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak, if not in mfu.py's table")
    options = parser.parse_args()

    out = options.out or tempfile.mkdtemp(prefix="sera-bench-train-")
    job = {
        "dataset": os.path.abspath(options.dataset),
        "output_dir": out,
        "model": {"tiny": {**SHAPES[options.shape], "max_positions": 32768}, "tokenizer": options.tokenizer},
        "recipe": {
            "epochs": 1000,
            "max_steps": options.steps,
            "learning_rate": 1e-3,
            "scheduler": "cosine",
            "warmup_ratio": 0.19,
            "adam_beta1": 0.9,
            "adam_beta2": 0.95,
            "weight_decay": 0.01,
            "per_device_batch_size": options.batch,
            "gradient_accumulation_steps": options.accumulation,
            "sequence_length": 32768,
            "dtype": options.dtype,
            "gradient_checkpointing": options.gradient_checkpointing,
            "seed": 0,
            "save_steps": 10**9,
            "logging_steps": 1,
        },
        "resume_from": None,
        "deepspeed": None,
    }
    job_file = os.path.join(out, "job.json")
    os.makedirs(out, exist_ok=True)
    with open(job_file, "w", encoding="utf-8") as handle:
        json.dump(job, handle)
    started = time.time()
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "sft_train.py"), "--job", job_file],
        capture_output=True,
        text=True,
    )
    wall = time.time() - started
    events = [json.loads(line[len("SERA_EVENT ") :]) for line in proc.stdout.splitlines() if line.startswith("SERA_EVENT ")]
    done = next((e for e in events if e["event"] == "done"), None)
    if proc.returncode != 0 or done is None:
        sys.stderr.write(proc.stderr[-4000:])
        sys.exit(proc.returncode or 1)
    start = next(e for e in events if e["event"] == "start")
    all_rates = [e["tokens_per_s"] for e in events if e["event"] == "log"]
    rates = all_rates[1:]
    steady = sum(rates) / max(len(rates), 1)
    utilization = model_flops(options, start)
    print(
        json.dumps(
            {
                "shape": options.shape,
                "dtype": options.dtype,
                "device": start["device"],
                "parameters": start["parameters"],
                "steps": done["step"],
                "tokens_seen": done["tokens_seen"],
                "steady_tokens_per_s": round(steady, 1),
                "mean_tokens_per_s": round(sum(all_rates) / max(len(all_rates), 1), 1),
                "end_to_end_tokens_per_s": round(done["tokens_seen"] / wall, 1),
                "wall_s": round(wall, 2),
                "peak_rss_mb": done.get("peak_rss_mb"),
                "peak_gpu_mb": done.get("peak_gpu_mb"),
                "first_loss": done["history"][0]["loss"],
                "last_loss": done["history"][-1]["loss"],
                **utilization,
                "mfu": round(steady * utilization["flops_per_token"] / utilization["peak_flops"], 4)
                if utilization["peak_flops"]
                else None,
            }
        )
    )


def model_flops(options, start: dict) -> dict:
    """FLOPs per trained token at the dataset's token-weighted length, and the device's peak."""
    import torch

    from mfu import flops_per_token, peak_bf16_flops, token_weighted_length
    from sft_data import encode_dataset, read_lines
    from student import load_tokenizer

    tokenizer = load_tokenizer({"tiny": {}, "tokenizer": options.tokenizer})
    encoded = encode_dataset(tokenizer, read_lines(os.path.abspath(options.dataset)), 32768)
    length = token_weighted_length([len(e.input_ids) for e in encoded.examples])
    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    peak = options.peak_tflops * 1e12 if options.peak_tflops else peak_bf16_flops(name)
    return {
        "device_name": name,
        "token_weighted_length": round(length, 1),
        "flops_per_token": flops_per_token(SHAPES[options.shape], length),
        "peak_flops": peak,
    }


if __name__ == "__main__":
    main()
