// How a long evaluation (thousands of instances × seeds) stays within Temporal's limits: the
// solving runs are taken in a fixed order and split into workflow runs (continue-as-new), and
// their grades leave the workflow in chunks of bounded size. Pure code, so unit tests import it.
import type { GradedPass, StoredGrade } from '../activities/eval/report';
import type { SolveInstanceResult } from './solve-instance';

/**
 * Solving runs (seed × instance) one workflow run of `evaluateModel` starts before it continues
 * as new. Each finished run adds to that history about 6 events (the child's initiated, started
 * and completed events and a workflow task of 3) and about 10 KB at worst (the child's input,
 * some 3 KB with its environment and model settings, and its result, whose grade names up to 20
 * failing tests per list and carries three artifact references with previews). An instance also
 * costs an image preparation (≤ 6 events, shared by its seeds). 400 runs: ≤ 3,200 events and
 * ≤ 4 MB, under a tenth of Temporal's 50,000 events and 50 MB. The server's own suggestion
 * (`continueAsNewSuggested`) ends a run earlier if it comes first.
 */
export const SOLVES_PER_RUN = 400;

/**
 * A grade chunk is stored once the grades waiting for it reach this many characters of JSON:
 * with one grade at most about 10 KB, each `storeGradeChunk` input stays under 75 KB, a
 * twentieth of Temporal's 2 MB payload limit. A typical grade (~1 KB) makes chunks of ~60 grades,
 * so 2,500 instances × 3 seeds carry ~130 chunk ids (~10 KB) across continue-as-new.
 */
export const GRADE_CHUNK_CHARS = 64 * 1024;

/** Instance heads per `instanceHeads` page: 200 × ~130 bytes ≈ 26 KB per activity result. */
export const HEADS_PER_PAGE = 200;

/**
 * Solving run `job` of the evaluation: every seed of an instance back to back (its image is then
 * prepared once per workflow run), instances in the file's order.
 */
export function jobAt(job: number, seeds: readonly number[]): { instance: number; seed: number } {
  const instance = Math.floor(job / seeds.length);
  return { instance, seed: seeds[job % seeds.length] as number };
}

/** A solving run's grade as it is stored: the log line's fields, artifacts by id. */
export function storedGrade(index: number, result: SolveInstanceResult): StoredGrade {
  const graded: GradedPass['results'][number] = {
    ...result.grade,
    agent: {
      exitStatus: result.exitStatus,
      detail: result.detail,
      turns: result.turns,
      trajectory: result.trajectory?.id,
    },
  };
  const { patch, log, ...grade } = graded;
  return { seed: result.seed, index, grade: { ...grade, patch: patch?.id, log: log?.id } };
}

/** Collects grades and hands them out in chunks of at most about `limit` characters of JSON. */
export class GradeChunker {
  private waiting: StoredGrade[] = [];
  private chars = 0;

  constructor(private readonly limit: number = GRADE_CHUNK_CHARS) {}

  /** Adds a grade; returns the grades to store when they reached the limit. */
  add(grade: StoredGrade): StoredGrade[] | undefined {
    this.waiting.push(grade);
    this.chars += JSON.stringify(grade).length + 1;
    return this.chars >= this.limit ? this.drain() : undefined;
  }

  /** The grades not stored yet (none: undefined), emptying the chunker. */
  drain(): StoredGrade[] | undefined {
    if (this.waiting.length === 0) return undefined;
    const chunk = this.waiting;
    this.waiting = [];
    this.chars = 0;
    return chunk;
  }
}
