import { z } from 'zod';
import { describeIssues } from '../environment-input';

/**
 * SWE-bench-format task instances. The public datasets ship FAIL_TO_PASS and PASS_TO_PASS as
 * JSON-encoded strings; files written by hand use arrays. Both are accepted.
 */
const TestList = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
  z.array(z.string().min(1), { error: 'a list of test ids (an array, or a JSON-encoded array)' }),
);

const Text = z.string();

export const SweInstanceSchema = z.object({
  instance_id: z.string().min(1),
  repo: z.string().min(1),
  base_commit: z.string().min(1),
  patch: Text,
  test_patch: Text.min(1),
  problem_statement: Text.min(1),
  hints_text: Text.default(''),
  created_at: Text.default(''),
  version: z.union([z.string(), z.number()]).transform(String).default(''),
  FAIL_TO_PASS: TestList,
  PASS_TO_PASS: TestList,
  environment_setup_commit: Text.optional(),
});
export type SweInstance = z.output<typeof SweInstanceSchema>;

export class InstancesFileError extends Error {}

/** Parses a JSONL file or a JSON array of instances; every problem is named, with the instance. */
export function parseInstances(text: string, source = 'instances file'): SweInstance[] {
  const raw = splitRecords(text, source);
  if (raw.length === 0) throw new InstancesFileError(`${source} holds no instances`);
  const problems: string[] = [];
  const instances: SweInstance[] = [];
  const seen = new Set<string>();
  for (const { where, value } of raw) {
    const id =
      value && typeof value === 'object' && 'instance_id' in value
        ? String((value as { instance_id: unknown }).instance_id)
        : undefined;
    const label = id ? `${where} (${id})` : where;
    const parsed = SweInstanceSchema.safeParse(value);
    if (!parsed.success) {
      problems.push(`${label}: ${describeIssues(parsed.error)}`);
      continue;
    }
    if (seen.has(parsed.data.instance_id)) {
      problems.push(`${label}: instance_id appears twice`);
      continue;
    }
    seen.add(parsed.data.instance_id);
    instances.push(parsed.data);
  }
  if (problems.length > 0) throw new InstancesFileError(`${source}: ${problems.join('; ')}`);
  return instances;
}

function splitRecords(text: string, source: string): Array<{ where: string; value: unknown }> {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let array: unknown;
    try {
      array = JSON.parse(trimmed);
    } catch (error) {
      throw new InstancesFileError(`${source}: not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(array)) throw new InstancesFileError(`${source}: expected a JSON array`);
    return array.map((value: unknown, index) => ({ where: `instance ${index + 1}`, value }));
  }
  const records: Array<{ where: string; value: unknown }> = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      records.push({ where: `line ${index + 1}`, value: JSON.parse(line) as unknown });
    } catch {
      problems.push(`line ${index + 1}: not a JSON object`);
    }
  });
  if (problems.length > 0) throw new InstancesFileError(`${source}: ${problems.join('; ')}`);
  return records;
}

/** SWE-bench's predictions format, one object per instance. */
export interface Prediction {
  instance_id: string;
  model_name_or_path: string;
  model_patch: string;
}

export const PredictionSchema = z.object({
  instance_id: z.string().min(1),
  model_name_or_path: z.string().default(''),
  /** null in some published files: no patch. */
  model_patch: z
    .string()
    .nullable()
    .transform((p) => p ?? ''),
});

/** Predictions as JSONL, a JSON array, or SWE-bench's older object keyed by instance id. */
export function parsePredictions(text: string, source = 'predictions file'): Prediction[] {
  if (text.trim() === '') throw new InstancesFileError(`${source} holds no predictions`);
  const problems: string[] = [];
  const out: Prediction[] = [];
  for (const { where, value } of predictionRecords(text, source)) {
    const parsed = PredictionSchema.safeParse(value);
    if (parsed.success) out.push(parsed.data);
    else problems.push(`${where}: ${describeIssues(parsed.error)}`);
  }
  if (problems.length > 0) throw new InstancesFileError(`${source}: ${problems.join('; ')}`);
  return out;
}

function predictionRecords(text: string, source: string): Array<{ where: string; value: unknown }> {
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    return splitRecords(text, source);
  }
  if (Array.isArray(whole) || typeof whole !== 'object' || whole === null) return splitRecords(text, source);
  if ('instance_id' in whole) return [{ where: 'line 1', value: whole }];
  return Object.entries(whole).map(([id, entry]) => ({
    where: `prediction ${id}`,
    value: { instance_id: id, ...(typeof entry === 'object' ? entry : {}) },
  }));
}

/** Files a test patch touches: SWE-bench runs exactly these ("test directives"). */
export function testFilesOf(testPatch: string): string[] {
  const files = new Set<string>();
  for (const match of testPatch.matchAll(/^\+\+\+ b\/(.+)$/gm)) if (match[1]) files.add(match[1].trim());
  return [...files];
}
