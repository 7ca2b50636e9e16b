"""Model FLOPs utilization, PaLM's definition (Chowdhery et al. 2022, appendix B).

Per trained token a step does 6 × N matmul FLOPs (forward 2N, backward 4N) plus the attention
scores and values, 12 × layers × heads × head size × sequence length. N counts the weights a
token multiplies by: every decoder layer and the output projection, not the input embedding
lookup (with tied embeddings the one matrix is the output projection). MFU is the achieved FLOPs
over the GPU's dense bf16 peak from its datasheet.
"""

QWEN3_VOCAB = 151936

# Dense bf16 peak, FLOP/s, from NVIDIA's datasheets (without sparsity). Longer names first.
PEAK_BF16 = [
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989.4e12),
    ("H200", 989.4e12),
    ("H800", 989.4e12),
    ("A100", 312e12),
    ("L40S", 362e12),
]


def matmul_parameters(shape: dict, vocab: int = QWEN3_VOCAB) -> int:
    """Weights a token is multiplied by, for a Qwen3 shape as the trainer's job file writes it."""
    hidden, head_dim = shape["hidden_size"], shape["head_dim"]
    attention = hidden * head_dim * (2 * shape["heads"] + 2 * shape["kv_heads"])
    mlp = 3 * hidden * shape["intermediate_size"]
    return shape["layers"] * (attention + mlp) + vocab * hidden


def flops_per_token(shape: dict, sequence_length: float, vocab: int = QWEN3_VOCAB) -> float:
    attention = 12 * shape["layers"] * shape["heads"] * shape["head_dim"] * sequence_length
    return 6 * matmul_parameters(shape, vocab) + attention


def peak_bf16_flops(device_name: str):
    """The datasheet's dense bf16 peak for a device name as CUDA reports it; None if unknown."""
    for name, peak in PEAK_BF16:
        if name in device_name:
            return peak
    return None


def token_weighted_length(lengths: list) -> float:
    """The sequence length an average trained token sits in: longer samples hold more tokens."""
    total = sum(lengths)
    return sum(n * n for n in lengths) / total if total else 0.0
