import { SeededRandom } from './teacher/random';

/** A function the pipeline can ask a teacher to change. */
export interface IndexedFunction {
  name: string;
  /** Path relative to the repository root. */
  file: string;
  line: number;
}

const TEST_PATH = /(^|\/)(tests?|testing)(\/|$)|(^|\/)test_[^/]*$|_tests?\.[a-z]+$|(^|\/)conftest\.py$/i;

/** Files whose path says they are tests are never sampled (the method changes non-test code). */
export function isTestPath(file: string): boolean {
  return TEST_PATH.test(file);
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

/** Sample i pairs a seeded random function with a seeded random template from the allowed set. */
export function planSample(
  functions: IndexedFunction[],
  templates: number[],
  seed: number,
  index: number,
): PlannedSample {
  if (functions.length === 0) throw new Error('no functions to sample from');
  if (templates.length === 0) throw new Error('no instruction templates to sample from');
  const random = new SeededRandom('sample', seed, index);
  const fn = functions[Math.floor(random.next() * functions.length)]!;
  const template = templates[Math.floor(random.next() * templates.length)]!;
  return { index, function: fn, template };
}
