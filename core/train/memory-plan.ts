import { layerParameters, parameterCount, type ModelShape } from './model-shape';
import type { Distributed, Recipe } from './train-config';

/** What the arithmetic needs of a training config. */
export interface MemoryInput {
  recipe: Pick<
    Recipe,
    'perDeviceBatchSize' | 'sequenceLength' | 'dtype' | 'gradientCheckpointing' | 'offloadOptimizer'
  >;
  distributed: Distributed;
  gpus: number;
  gpuMemoryGiB: number;
}

export interface MemoryPart {
  name: string;
  gib: number;
  /** The formula, in words and numbers, so a refusal can be checked by hand. */
  how: string;
}

export interface MemoryPlan {
  parameters: number;
  parts: MemoryPart[];
  perGpuGiB: number;
  gpuMemoryGiB: number;
  fits: boolean;
  /** Optimizer state moved to host memory, per rank (0 without offload). */
  hostGiBPerRank: number;
}

/**
 * Share of a sequence's positions whose logits are computed: only positions whose next token is
 * trained are (trainer/trained_positions.py). About a tenth on the example dataset; a quarter
 * leaves a margin for datasets with longer assistant turns.
 */
export const TRAINED_SHARE = 0.25;
/** CUDA context, communication buffers and allocator fragmentation: a fixed part and a share. */
const FIXED_OVERHEAD_GIB = 2;
const OVERHEAD_SHARE = 0.1;

const GIB = 2 ** 30;
const round = (gib: number): number => Math.round(gib * 10) / 10;
const billions = (n: number): string => `${(n / 1e9).toFixed(2)} B`;

/**
 * Peak memory of one GPU during a training step, in the same terms the trainer runs in:
 * fp32 master weights, gradients and Adam moments (16 bytes a parameter, sharded over the GPUs
 * under ZeRO-3 or FSDP, whole on each GPU otherwise), the layers gathered for compute, the
 * activations kept for the backward pass, and the logits at the trained positions.
 */
export function memoryPlan(shape: ModelShape, input: MemoryInput): MemoryPlan {
  const { recipe, distributed, gpus } = input;
  const n = parameterCount(shape);
  const sharded = distributed !== 'none';
  const shards = sharded ? gpus : 1;
  const actBytes = recipe.dtype === 'bf16' ? 2 : 4;
  const parts: MemoryPart[] = [];

  // Model states. ZeRO-3 keeps bf16 weights and gradients beside the fp32 master copy; offloading
  // moves the master copy and Adam's moments to the host. FSDP's offload moves all of it.
  let stateBytes = 16;
  let hostBytes = 0;
  let stateHow = '16 bytes/parameter (fp32 weights 4, gradients 4, Adam moments 8)';
  if (recipe.offloadOptimizer && distributed === 'zero3') {
    stateBytes = 4;
    hostBytes = 12;
    stateHow = '4 bytes/parameter on the GPU (bf16 weights and gradients; master copy and Adam on the host)';
  } else if (recipe.offloadOptimizer && distributed === 'fsdp') {
    stateBytes = 0;
    hostBytes = 16;
    stateHow = 'none on the GPU (FSDP offloads weights, gradients and optimizer state to the host)';
  }
  parts.push({
    name: 'model states',
    gib: (n * stateBytes) / shards / GIB,
    how: `${billions(n)} parameters × ${stateHow}${sharded ? ` / ${shards} GPUs` : ''}`,
  });

  if (sharded) {
    // The unit being computed is gathered whole: the embeddings (the root unit) and two layers
    // (the current one and the one prefetched). ZeRO-3 gathers bf16, FSDP the fp32 weights.
    const paramBytes = distributed === 'zero3' ? 2 : 4;
    const embeddings = shape.vocabSize * shape.hiddenSize * (shape.tiedEmbeddings ? 1 : 2);
    const gathered = embeddings + 2 * layerParameters(shape);
    parts.push({
      name: 'gathered weights',
      gib: (gathered * paramBytes) / GIB,
      how: `embeddings + 2 layers = ${billions(gathered)} parameters × ${paramBytes} bytes`,
    });
  }

  const tokens = recipe.sequenceLength * recipe.perDeviceBatchSize;
  // Tensors one decoder layer saves for its backward pass, per token, with a fused attention
  // kernel (no sequence² term): norms' inputs, q/k/v/o, and the gated MLP's four intermediates.
  const perLayer =
    4 * shape.hiddenSize +
    3 * shape.heads * shape.headDim +
    2 * shape.kvHeads * shape.headDim +
    4 * shape.intermediateSize;
  const activationElements = recipe.gradientCheckpointing
    ? shape.layers * shape.hiddenSize + perLayer
    : shape.layers * perLayer;
  parts.push({
    name: 'activations',
    gib: (tokens * activationElements * actBytes) / GIB,
    how: recipe.gradientCheckpointing
      ? `${tokens} tokens × (${shape.layers} layer inputs × ${shape.hiddenSize} + one layer recomputed, ${perLayer}) × ${actBytes} bytes`
      : `${tokens} tokens × ${shape.layers} layers × ${perLayer} values × ${actBytes} bytes`,
  });

  const logitBytes = actBytes + 8;
  parts.push({
    name: 'logits',
    gib: (tokens * TRAINED_SHARE * shape.vocabSize * logitBytes) / GIB,
    how: `${tokens} tokens × ${TRAINED_SHARE} trained × ${shape.vocabSize} vocabulary × ${logitBytes} bytes (logits, fp32 copy, gradient)`,
  });

  const subtotal = parts.reduce((sum, part) => sum + part.gib, 0);
  parts.push({
    name: 'overhead',
    gib: FIXED_OVERHEAD_GIB + OVERHEAD_SHARE * subtotal,
    how: `${FIXED_OVERHEAD_GIB} GiB + ${OVERHEAD_SHARE * 100} % (CUDA context, communication buffers, fragmentation)`,
  });
  const perGpuGiB = parts.reduce((sum, part) => sum + part.gib, 0);
  return {
    parameters: n,
    parts: parts.map((part) => ({ ...part, gib: round(part.gib) })),
    perGpuGiB: round(perGpuGiB),
    gpuMemoryGiB: input.gpuMemoryGiB,
    fits: perGpuGiB <= input.gpuMemoryGiB,
    hostGiBPerRank: round((n * hostBytes) / shards / GIB),
  };
}

/** The arithmetic as lines a refusal or a log carries. */
export function describePlan(plan: MemoryPlan): string {
  const lines = plan.parts.map((part) => `${part.name} ${part.gib} GiB (${part.how})`);
  const verdict = plan.fits ? 'fits' : 'does not fit';
  const host =
    plan.hostGiBPerRank > 0 ? `; host memory for offloaded state ${plan.hostGiBPerRank} GiB per rank` : '';
  return `${lines.join('; ')}; total ${plan.perGpuGiB} GiB per GPU, which ${verdict} in ${plan.gpuMemoryGiB} GiB${host}`;
}
