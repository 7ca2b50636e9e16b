import type { SourceLanguage } from './languages';
import { SeededRandom } from './teacher/random';

export { isTestPath } from './languages';

/** A function the pipeline can ask a teacher to change. */
export interface IndexedFunction {
  name: string;
  /** Path relative to the repository root. */
  file: string;
  line: number;
  /** Absent in indexes written before the field existed. */
  language?: SourceLanguage;
}

/** Sorted by file and line, then capped by a seeded choice: the same repository and seed, the same list. */
export function capFunctions(functions: IndexedFunction[], cap: number, seed: number): IndexedFunction[] {
  const sorted = [...functions].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  if (sorted.length <= cap) return sorted;
  const random = new SeededRandom('cap', seed);
  const shuffled = sorted.map((f) => ({ f, key: random.next() })).sort((a, b) => a.key - b.key);
  return shuffled
    .slice(0, cap)
    .map((x) => x.f)
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

export interface PlannedSample {
  index: number;
  function: IndexedFunction;
  /** Instruction template, 0 … 50. */
  template: number;
}

/**
 * Sample i takes position i mod n of a seeded order of the n functions, a fresh order for each
 * pass over them (pass = floor(i / n)): every function is asked for once before any is asked for
 * again. The template is a seeded draw per index. The same seed gives the same plan.
 */
export function planSample(
  functions: IndexedFunction[],
  templates: number[],
  seed: number,
  index: number,
): PlannedSample {
  if (functions.length === 0) throw new Error('no functions to sample from');
  if (templates.length === 0) throw new Error('no instruction templates to sample from');
  const pass = Math.floor(index / functions.length);
  const order = new SeededRandom('functions', seed, pass).shuffle(functions);
  const fn = order[index % functions.length]!;
  const random = new SeededRandom('sample', seed, index);
  const template = templates[Math.floor(random.next() * templates.length)]!;
  return { index, function: fn, template };
}
