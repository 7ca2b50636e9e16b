/**
 * Rollout 1's task texts: template 0 is generic, templates 1–50 name a bug category. All are
 * deliberately vague: no expected behaviour, no test.
 */
export const BUG_CATEGORIES = [
  'resource cleanup',
  'data validation',
  'error handling',
  'state management',
  'configuration and initialization',
  'concurrency',
  'API contracts',
  'performance',
  'dependency management',
  'control flow',
  'data transformation',
  'asynchronous code and callbacks',
  'boundary conditions',
  'maintainability and documentation',
  'security',
  'modularity',
  'testing and observability',
  'platform compatibility',
  'business logic',
  'robustness',
  'scalability',
  'convention adherence',
  'complexity',
  'component integration',
  'missing functionality',
  'determinism',
  'precondition validation',
  'side effects',
  'abstraction',
  'duplication',
  'initialization order',
  'algorithmic correctness',
  'output correctness',
  'coupling',
  'naming',
  'readability',
  'testability',
  'backwards compatibility',
  'invariants',
  'ownership',
  'parameterization',
  'transactions',
  'resource efficiency',
  'environment awareness',
  'composability',
  'temporal behaviour',
  'idempotency',
  'null safety',
  'memory management',
  'I/O and data flow',
] as const;

export const TEMPLATE_COUNT = BUG_CATEGORIES.length + 1;

/** The instruction for template `index` (0 … 50) about `functionName` in `file`. */
export function bugInstruction(index: number, functionName: string, file: string): string {
  if (index === 0) {
    return `There is an issue in the function \`${functionName}\` in \`${file}\`. Find it and change the code.`;
  }
  const category = BUG_CATEGORIES[index - 1];
  if (!category) throw new Error(`instruction template ${index} does not exist (0–${BUG_CATEGORIES.length})`);
  return `There appears to be an issue with ${category} related to \`${functionName}\` in \`${file}\`.`;
}

export interface ParsedInstruction {
  functionName: string;
  file: string;
  /** Empty for the generic template. */
  category: string;
}

export function parseBugInstruction(text: string): ParsedInstruction | undefined {
  const specific = /issue with (.+?) related to `([^`]+)` in `([^`]+)`/.exec(text);
  if (specific)
    return { category: specific[1] ?? '', functionName: specific[2] ?? '', file: specific[3] ?? '' };
  const generic = /issue in the function `([^`]+)` in `([^`]+)`/.exec(text);
  if (generic) return { category: '', functionName: generic[1] ?? '', file: generic[2] ?? '' };
  return undefined;
}
