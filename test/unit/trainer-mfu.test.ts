import { describe, expect, it } from 'vitest';
import { trainerPython } from '../support/trainer-python';

describe('model FLOPs utilization (trainer/mfu.py, PaLM’s definition)', () => {
  it('counts 6 × the matmul weights plus the attention term per token', () => {
    const out = trainerPython(`
from mfu import flops_per_token, matmul_parameters
shape = dict(hidden_size=1024, intermediate_size=3072, layers=28, heads=16, kv_heads=8, head_dim=128)
print(matmul_parameters(shape), int(flops_per_token(shape, 1000)))
`);
    // Qwen3-0.6B: 28 × (attention 6,291,456 + MLP 9,437,184) + output projection 155,582,464.
    const matmul = 28 * (1024 * 128 * (32 + 16) + 3 * 1024 * 3072) + 151_936 * 1024;
    expect(out).toBe(`${matmul} ${6 * matmul + 12 * 28 * 16 * 128 * 1000}`);
  });

  it('knows the datasheet peaks by the name CUDA reports, and says when it does not', () => {
    const out = trainerPython(`
from mfu import peak_bf16_flops
for name in ["NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA H200", "NVIDIA A100-SXM4-80GB", "Tesla T4"]:
    print(peak_bf16_flops(name))
`);
    expect(out.split('\n')).toEqual([
      '989400000000000.0',
      '756000000000000.0',
      '989400000000000.0',
      '312000000000000.0',
      'None',
    ]);
  });

  it('weights sequence lengths by the tokens in them', () => {
    expect(trainerPython('from mfu import token_weighted_length; print(token_weighted_length([1, 3]))')).toBe(
      '2.5',
    );
  });
});
