"""The model to train: a pretrained model on disk (or a hub id the host can reach), or a tiny
Qwen3 with random weights built from a config, for machines where no weights can be fetched."""

import os

from events import BadInput

# Qwen3's vocabulary; the tokenizer's ids (special tokens included) all fall below it.
QWEN3_VOCAB = 151936


def tiny_qwen3_config(spec: dict):
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=QWEN3_VOCAB,
        hidden_size=spec["hidden_size"],
        intermediate_size=spec["intermediate_size"],
        num_hidden_layers=spec["layers"],
        num_attention_heads=spec["heads"],
        num_key_value_heads=spec["kv_heads"],
        # vLLM's CPU attention kernels serve 64; smaller head sizes are refused.
        head_dim=spec["head_dim"],
        max_position_embeddings=spec["max_positions"],
        tie_word_embeddings=True,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
    )


def load_tokenizer(model: dict):
    from transformers import AutoTokenizer

    source = model["tokenizer"] if "tiny" in model else model["path"]
    if "tiny" in model and not os.path.isdir(source):
        raise BadInput(f"tokenizer folder {source} does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise BadInput(f"cannot load a tokenizer from {source}: {error}")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model: dict, seed: int, dtype_name: str):
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32
    if "tiny" in model:
        # The seed alone decides the random weights, so two runs start from the same student.
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(tiny_qwen3_config(model["tiny"]), dtype=dtype)
    path = model["path"]
    if path.startswith(("/", ".")) and not os.path.isdir(path):
        raise BadInput(f"model folder {path} does not exist")
    try:
        return AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as error:
        raise BadInput(f"cannot load a model from {path}: {error}")
