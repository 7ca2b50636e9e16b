"""SFT of a student model on an exported SERA dataset, with transformers' Trainer.

    python trainer/sft_train.py --job job.json

The job file names the dataset, the model, the recipe and where to write (docs/training.md has
its fields). Progress goes to stdout as events (events.py); checkpoints are written every
`save_steps` under <output_dir>/checkpoints and the trained model under <output_dir>/model in
Hugging Face layout. SIGTERM stops at the end of the current step with a checkpoint. With
`resume_from`, training continues from a checkpoint: step counter, optimizer, scheduler and
random state come back. Multi-GPU: start it with `accelerate launch` (docs/training.md).
"""

import argparse
import json
import math
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from events import BadInput, emit, fail_bad_input  # noqa: E402
from sft_data import Collator, encode_dataset, read_lines  # noqa: E402
from student import load_model, load_tokenizer  # noqa: E402
from trained_positions import loss_at_trained_positions  # noqa: E402
from watch import exit_with_parent  # noqa: E402

stop_requested = threading.Event()


def stop_agreed(device) -> bool:
    """A stop asked of any rank stops them all at the same step, so their last save matches."""
    import torch
    import torch.distributed as dist

    wanted = stop_requested.is_set()
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return wanted
    flag = torch.tensor([1 if wanted else 0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def sharding(job: dict) -> dict:
    """The Trainer's DeepSpeed or FSDP arguments, with the optimizer state in host memory when the
    recipe asks (ZeRO-3 offloads the master weights and Adam; FSDP offloads weights and state)."""
    offload = bool(job["recipe"].get("offload_optimizer"))
    if job.get("deepspeed"):
        try:
            with open(job["deepspeed"], encoding="utf-8") as handle:
                config = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise BadInput(f"cannot read the DeepSpeed config {job['deepspeed']}: {error}")
        if offload:
            config["zero_optimization"]["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
        return {"deepspeed": config}
    if job.get("fsdp"):
        return {
            "fsdp": "full_shard auto_wrap offload" if offload else "full_shard auto_wrap",
            "fsdp_config": {"transformer_layer_cls_to_wrap": ["Qwen3DecoderLayer"]},
        }
    return {}


def sharding_in_use(trainer) -> str:
    """How the Trainer really spreads the model, which the start event reports."""
    if trainer.is_deepspeed_enabled:
        return "zero3"
    if trainer.is_fsdp_enabled:
        return "fsdp"
    return "ddp" if trainer.args.world_size > 1 else "none"


def read_job(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise BadInput(f"cannot read job file {path}: {error}")


def make_callback(started: float):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        """Turns the Trainer's logs, saves and stop requests into events and control flags."""

        def __init__(self) -> None:
            self.last_time = started
            self.last_tokens = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.last_time = time.time()
            self.last_tokens = state.num_input_tokens_seen

        def on_step_end(self, args, state, control, **kwargs):
            if stop_agreed(args.device):
                control.should_save = True
                control.should_training_stop = True

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if "loss" not in logs:
                return
            now = time.time()
            tokens = state.num_input_tokens_seen
            rate = (tokens - (self.last_tokens or 0)) / max(now - self.last_time, 1e-9)
            self.last_time, self.last_tokens = now, tokens
            emit(
                "log",
                step=state.global_step,
                max_steps=state.max_steps,
                epoch=round(state.epoch or 0, 4),
                loss=logs["loss"],
                learning_rate=logs.get("learning_rate"),
                grad_norm=logs.get("grad_norm"),
                tokens_seen=tokens,
                tokens_per_s=round(rate, 1),
            )

        def on_save(self, args, state, control, **kwargs):
            folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            emit("checkpoint", step=state.global_step, dir=folder, tokens_seen=state.num_input_tokens_seen)

    return Progress()


def peak_rss_mb() -> float:
    import resource

    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resumed_step(checkpoint: str) -> int:
    try:
        with open(os.path.join(checkpoint, "trainer_state.json"), encoding="utf-8") as handle:
            return int(json.load(handle)["global_step"])
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as error:
        raise BadInput(f"checkpoint {checkpoint} has no readable trainer_state.json: {error}")


def train(job: dict) -> None:
    import torch
    from transformers import Trainer, TrainingArguments

    started = time.time()
    recipe = job["recipe"]
    tokenizer = load_tokenizer(job["model"])
    encoded = encode_dataset(tokenizer, read_lines(job["dataset"]), recipe["sequence_length"])
    for item in encoded.too_long:
        emit("skipped", id=item["id"], tokens=item["tokens"], reason="longer than the sequence length")
    examples = [{"input_ids": e.input_ids, "labels": e.labels} for e in encoded.examples]
    trained_tokens = sum(sum(1 for label in e.labels if label != -100) for e in encoded.examples)
    resume = job.get("resume_from")
    start_step = resumed_step(resume) if resume else 0

    if (job.get("fsdp") or job.get("deepspeed")) and not torch.cuda.is_available():
        # Accelerate runs ranks without CUDA as plain data parallelism: refuse rather than pretend.
        raise BadInput(
            f"distributed {'fsdp' if job.get('fsdp') else 'zero3'} needs CUDA GPUs; this host has none "
            "(use distributed none: several processes then train with DDP over gloo)"
        )
    model = load_model(job["model"], recipe["seed"], "fp32")
    gpus = max(torch.cuda.device_count(), 1)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = recipe["per_device_batch_size"] * recipe["gradient_accumulation_steps"] * world
    planned = recipe.get("max_steps") or math.ceil(len(examples) / per_step) * recipe["epochs"]
    args = TrainingArguments(
        output_dir=os.path.join(job["output_dir"], "checkpoints"),
        num_train_epochs=recipe["epochs"],
        max_steps=recipe.get("max_steps") or -1,
        per_device_train_batch_size=recipe["per_device_batch_size"],
        gradient_accumulation_steps=recipe["gradient_accumulation_steps"],
        learning_rate=recipe["learning_rate"],
        lr_scheduler_type=recipe["scheduler"],
        warmup_steps=recipe["warmup_ratio"],
        optim="adamw_torch",
        adam_beta1=recipe["adam_beta1"],
        adam_beta2=recipe["adam_beta2"],
        weight_decay=recipe["weight_decay"],
        bf16=recipe["dtype"] == "bf16",
        gradient_checkpointing=recipe["gradient_checkpointing"],
        logging_steps=recipe["logging_steps"],
        save_steps=recipe["save_steps"],
        # The activity copies each checkpoint to the artifact store and prunes the folder itself.
        save_total_limit=None,
        seed=recipe["seed"],
        data_seed=recipe["seed"],
        include_num_input_tokens_seen="non_padding",
        **sharding(job),
        # Without it, ranks on a machine without CUDA each train alone on the whole dataset.
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=examples,
        data_collator=Collator(tokenizer.pad_token_id),
        callbacks=[make_callback(started)],
        compute_loss_func=loss_at_trained_positions,
    )
    wanted = "fsdp" if job.get("fsdp") else "zero3" if job.get("deepspeed") else None
    if wanted and sharding_in_use(trainer) != wanted:
        raise BadInput(f"distributed {wanted} was asked for, but the Trainer runs {sharding_in_use(trainer)}")
    emit(
        "start",
        lines=encoded.lines,
        samples=len(examples),
        too_long=len(encoded.too_long),
        untrained=len(encoded.untrained),
        tokens=sum(len(e["input_ids"]) for e in examples),
        trained_tokens=trained_tokens,
        chat_template_overhead=encoded.min_overhead,
        parameters=sum(p.numel() for p in model.parameters()),
        planned_steps=planned,
        resumed_from_step=start_step if resume else None,
        device="cuda" if torch.cuda.is_available() else "cpu",
        gpus=gpus,
        world_size=world,
        sharding=sharding_in_use(trainer),
    )

    result = trainer.train(resume_from_checkpoint=resume)
    step = trainer.state.global_step
    if stop_requested.is_set():
        emit("stopped", step=step, checkpoint=os.path.join(args.output_dir, f"checkpoint-{step}"))
        return
    model_dir = os.path.join(job["output_dir"], "model")
    trainer.save_model(model_dir)
    tokenizer.save_pretrained(model_dir)
    emit(
        "done",
        step=step,
        model_dir=model_dir,
        train_loss=result.training_loss,
        tokens_seen=trainer.state.num_input_tokens_seen,
        wall_s=round(time.time() - started, 3),
        peak_rss_mb=round(peak_rss_mb(), 1),
        peak_gpu_mb=round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else None,
        # The whole run's logs, those before a resume included (they travel in the checkpoint).
        history=[
            {key: entry[key] for key in ("step", "loss", "learning_rate", "epoch") if key in entry}
            for entry in trainer.state.log_history
            if "loss" in entry
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--job", required=True, help="the job file (JSON)")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    if os.environ.get("SERA_EXIT_WITH_PARENT") == "1":
        exit_with_parent()
    try:
        train(read_job(options.job))
    except BadInput as error:
        fail_bad_input(str(error))


if __name__ == "__main__":
    main()
