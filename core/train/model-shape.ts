import { z } from 'zod';
import type { TinyQwen3 } from './train-config';

/** What the memory arithmetic needs to know of a decoder-only transformer. */
export interface ModelShape {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  tiedEmbeddings: boolean;
}

const QWEN3_VOCAB = 151_936;

function qwen3(
  hiddenSize: number,
  intermediateSize: number,
  layers: number,
  heads: number,
  tiedEmbeddings: boolean,
): ModelShape {
  return {
    vocabSize: QWEN3_VOCAB,
    hiddenSize,
    intermediateSize,
    layers,
    heads,
    kvHeads: 8,
    headDim: 128,
    tiedEmbeddings,
  };
}

/** The published Qwen3 architectures (their config.json), so a hub id is sized without fetching it. */
export const KNOWN_SHAPES: Readonly<Record<string, ModelShape>> = {
  'Qwen/Qwen3-0.6B': qwen3(1024, 3072, 28, 16, true),
  'Qwen/Qwen3-1.7B': qwen3(2048, 6144, 28, 16, true),
  'Qwen/Qwen3-4B': qwen3(2560, 9728, 36, 32, true),
  'Qwen/Qwen3-8B': qwen3(4096, 12288, 36, 32, false),
  'Qwen/Qwen3-14B': qwen3(5120, 17408, 40, 40, false),
  'Qwen/Qwen3-32B': qwen3(5120, 25600, 64, 64, false),
};

export function tinyShape(tiny: TinyQwen3): ModelShape {
  return {
    vocabSize: QWEN3_VOCAB,
    hiddenSize: tiny.hiddenSize,
    intermediateSize: tiny.intermediateSize,
    layers: tiny.layers,
    heads: tiny.heads,
    kvHeads: tiny.kvHeads,
    headDim: tiny.headDim,
    tiedEmbeddings: true,
  };
}

/** The fields of a Hugging Face config.json the arithmetic reads (Llama/Qwen naming). */
const HfConfigSchema = z.looseObject({
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().optional(),
  head_dim: z.number().int().positive().optional(),
  tie_word_embeddings: z.boolean().optional(),
});

/** A model folder's config.json as a shape; undefined when it does not name these fields. */
export function shapeFromHfConfig(config: unknown): ModelShape | undefined {
  const parsed = HfConfigSchema.safeParse(config);
  if (!parsed.success) return undefined;
  const c = parsed.data;
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads: c.num_key_value_heads ?? c.num_attention_heads,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    tiedEmbeddings: c.tie_word_embeddings ?? false,
  };
}

/** Parameters of one decoder layer: attention projections, gated MLP, two norms. */
export function layerParameters(s: ModelShape): number {
  const attention = s.hiddenSize * s.headDim * (2 * s.heads + 2 * s.kvHeads) + 2 * s.headDim;
  const mlp = 3 * s.hiddenSize * s.intermediateSize;
  return attention + mlp + 2 * s.hiddenSize;
}

export function parameterCount(s: ModelShape): number {
  const embeddings = s.vocabSize * s.hiddenSize * (s.tiedEmbeddings ? 1 : 2);
  return embeddings + s.layers * layerParameters(s) + s.hiddenSize;
}
