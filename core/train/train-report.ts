import { lineChart } from '../charts';
import type { ResolvedTrainConfig } from './train-config';
import type { HistoryEntry } from './trainer-events';

/** What one training run did, for people: report.json beside the model, linked from the memo. */
export interface TrainReport {
  runId: string;
  preset: string;
  model: string;
  distributed: string;
  recipe: ResolvedTrainConfig['recipe'];
  device: string;
  gpus: number;
  parameters: number;
  /** Dataset lines, those trained on, and those skipped for length (with their token counts). */
  lines: number;
  samples: number;
  tooLong: Array<{ id: string; tokens: number }>;
  untrained: number;
  chatTemplateOverhead: number;
  steps: number;
  /** Input tokens the optimizer saw (padding excluded), all epochs. */
  tokensSeen: number;
  /** Tokens with loss in one pass over the dataset. */
  trainedTokensPerEpoch: number;
  /** Wall time of the attempts that trained, summed (a retry's start-up included). */
  wallSeconds: number;
  attempts: number;
  /** Steps a retry resumed from, in order: empty when the run was never interrupted. */
  resumedFrom: number[];
  /** Mean of the trainer's per-log rates (tokens since the last log / seconds since it). */
  meanTokensPerSecond: number;
  /** Peak resident memory of the trainer process and, on CUDA, peak GPU memory allocated (MiB). */
  peakRssMb?: number;
  peakGpuMb?: number;
  /** How the trainer really ran: one process, DDP, FSDP or ZeRO-3 (from the trainer's start event). */
  sharding?: 'none' | 'ddp' | 'fsdp' | 'zero3';
  /** The memory arithmetic's peak for one GPU (docs/training.md), beside the measured one. */
  estimatedGpuGiB?: number;
  firstLoss: number;
  lastLoss: number;
  gpuHourUsd: number;
  /** wall hours x GPUs x price per GPU-hour. */
  costUsd: number;
  history: HistoryEntry[];
}

export function estimateCostUsd(wallSeconds: number, gpus: number, gpuHourUsd: number): number {
  return (wallSeconds / 3600) * gpus * gpuHourUsd;
}

/** The loss curve and the learning-rate schedule as SVG. */
export function trainCharts(history: HistoryEntry[]): Record<'loss' | 'learningRate', string> {
  return {
    loss: lineChart('Training loss (assistant tokens)', 'step', 'loss', [
      { label: 'loss', points: history.map((h) => [h.step, h.loss]) },
    ]),
    learningRate: lineChart('Learning-rate schedule', 'step', 'learning rate', [
      { label: 'learning rate', points: history.map((h) => [h.step, h.learning_rate ?? 0]) },
    ]),
  };
}
