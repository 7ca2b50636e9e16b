// The docs name commands, options and config fields; this test checks each one against the code
// (the commander program, the zod schemas, package.json), so a renamed option or field cannot
// leave a doc behind. A failure names the doc file and line and what it names that does not exist.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { program } from '../../client/cli';
import { RunConfigSchema, RunEnvironmentSchema } from '../../core/run-config';
import { PrepareEnvironmentInputSchema } from '../../core/environment-input';
import { ModelSettingsSchema, RolloutInputSchema } from '../../core/agent/rollout-input';
import {
  BuildEvalSetInputSchema,
  EvaluateModelInputSchema,
  EvaluationModelSchema,
  GradePredictionsInputSchema,
  RepoEnvironmentSchema,
} from '../../core/eval/eval-input';
import { RecipeSchema, TrainConfigSchema } from '../../core/train/train-config';
import { DatasetConfigSchema } from '../../core/sft/dataset-config';
import { ServeStudentInputSchema } from '../../core/serve/serve-request';

const root = fileURLToPath(new URL('../..', import.meta.url));
const docFiles = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** `trainStudentModel`'s input (a TypeScript interface in workflows/train-student.ts, no schema). */
const TrainStudentInputSchema = z.strictObject({
  runId: z.string(),
  dataset: z.string(),
  config: TrainConfigSchema,
  output: z.string().optional(),
  continueFrom: z.string().optional(),
});

type AnySchema = z.ZodType;

/** Where a doc's field table or config block is checked: by its file and the heading above it. */
interface Section {
  file: RegExp;
  heading: RegExp;
  /** The schemas a field may belong to (any one accepting it is enough); none: not a config. */
  schemas: AnySchema[];
}

const SECTIONS: Section[] = [
  { file: /formats\.md$/, heading: /`prepareEnvironment` input/, schemas: [PrepareEnvironmentInputSchema] },
  { file: /formats\.md$/, heading: /`rollout` input/, schemas: [RolloutInputSchema] },
  { file: /formats\.md$/, heading: /^Run config/, schemas: [RunConfigSchema] },
  { file: /formats\.md$/, heading: /^Dataset config/, schemas: [DatasetConfigSchema] },
  { file: /formats\.md$/, heading: /`trainStudentModel` input/, schemas: [TrainStudentInputSchema] },
  { file: /formats\.md$/, heading: /^Evaluation$/, schemas: [EvaluationModelSchema] },
  {
    file: /your-repository\.md$/,
    heading: /field by field/,
    schemas: [RunEnvironmentSchema, RepoEnvironmentSchema],
  },
  { file: /real-teachers\.md$/, heading: /Endpoints and settings/, schemas: [ModelSettingsSchema] },
  { file: /training\.md$/, heading: /^Presets$/, schemas: [TrainConfigSchema, RecipeSchema] },
  // Results and data formats, not configs.
  { file: /formats\.md$/, heading: /result|^Trajectory/, schemas: [] },
  { file: /dataset\.md$/, heading: /exported format/, schemas: [] },
  { file: /sandbox-security\.md$/, heading: /What a sandbox is/, schemas: [] },
  // A request body of the proxy's APIs.
  { file: /serving\.md$/, heading: /Constrained decoding/, schemas: [] },
];

/** Configs a block outside the sections above may be a part of (a run config's fragment, say). */
const CONFIG_SCHEMAS: AnySchema[] = [
  RunConfigSchema,
  TrainConfigSchema,
  DatasetConfigSchema,
  EvaluateModelInputSchema,
  GradePredictionsInputSchema,
  BuildEvalSetInputSchema,
  PrepareEnvironmentInputSchema,
  TrainStudentInputSchema,
  ServeStudentInputSchema,
];

// ---- reading the docs ----------------------------------------------------------------------

interface Unit {
  file: string;
  line: number;
  text: string;
  /** A line of a code block (the whole line is command text), or an inline code span of prose. */
  kind: 'code' | 'span';
}

interface Block {
  file: string;
  line: number;
  lang: string;
  text: string;
  heading: string;
}

interface Table {
  file: string;
  line: number;
  heading: string;
  rows: { line: number; first: string }[];
}

interface Doc {
  units: Unit[];
  blocks: Block[];
  tables: Table[];
}

function readDoc(file: string): Doc {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const units: Unit[] = [];
  const blocks: Block[] = [];
  const tables: Table[] = [];
  let heading = '';
  let prose: { line: number; text: string }[] = [];
  const flushProse = (): void => {
    // Inline code spans may run over a line break: read them over the whole paragraph.
    const text = prose.map((p) => p.text).join('\n');
    for (const m of text.matchAll(/`([^`]+)`/g)) {
      const before = text.slice(0, m.index).split('\n').length - 1;
      units.push({ file, line: prose[before]!.line, text: m[1]!.replace(/\n/g, ' '), kind: 'span' });
    }
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^```(\w*)/.exec(line);
    if (fence) {
      flushProse();
      const start = i + 1;
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) {
        body.push(lines[i]!);
        units.push({ file, line: i + 1, text: lines[i]!, kind: 'code' });
      }
      blocks.push({ file, line: start + 1, lang: fence[1] ?? '', text: body.join('\n'), heading });
      continue;
    }
    // An indented code block: four spaces after a blank line (list items here indent by two).
    if (/^ {4}\S/.test(line) && (i === 0 || lines[i - 1]!.trim() === '')) {
      flushProse();
      const start = i;
      const body: string[] = [];
      for (; i < lines.length && (/^ {4}/.test(lines[i]!) || lines[i]!.trim() === ''); i++) {
        body.push(lines[i]!.slice(4));
        units.push({ file, line: i + 1, text: lines[i]!, kind: 'code' });
      }
      i--;
      blocks.push({ file, line: start + 1, lang: '', text: body.join('\n').trimEnd(), heading });
      continue;
    }
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      flushProse();
      heading = h[1]!.trim();
      continue;
    }
    if (line.startsWith('|')) {
      flushProse();
      const cells = (l: string): string[] => l.split('|').slice(1, -1);
      const table: Table = { file, line: i + 1, heading, rows: [] };
      const header = cells(line)[0]?.trim() ?? '';
      for (i += 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
        const first = cells(lines[i]!)[0] ?? '';
        table.rows.push({ line: i + 1, first });
        // The other cells are prose: their code spans are checked like any other.
        for (const m of lines[i]!.matchAll(/`([^`]+)`/g))
          units.push({ file, line: i + 1, text: m[1]!, kind: 'span' });
      }
      i--;
      if (['field', 'setting'].includes(header)) tables.push(table);
      continue;
    }
    if (line.trim() === '') flushProse();
    else prose.push({ line: i + 1, text: line });
  }
  flushProse();
  return { units, blocks, tables };
}

const docs = new Map(docFiles.map((f) => [f, readDoc(f)]));

// ---- commands and options ------------------------------------------------------------------

function subcommand(parent: Command, name: string): Command | undefined {
  return parent.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

function longOptions(command: Command): Set<string> {
  const names = new Set(['--help']);
  for (const option of command.options) if (option.long) names.add(option.long);
  return names;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

const everyProgramOption = new Set(allCommands(program).flatMap((c) => [...longOptions(c)]));
const benchSource = readFileSync(path.join(root, 'bench/index.ts'), 'utf8');
const benchOptions = new Set([...benchSource.matchAll(/\.option\(\s*'(--[a-z0-9-]+)/g)].map((m) => m[1]!));
const scripts = Object.keys(
  (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts,
);

/** Options of other programs that the docs name in passing (vLLM, Docker, test runners, pip…). */
const OTHER_PROGRAMS_OPTIONS = new Set([
  '--input-file', // temporal workflow start
  '--input', // temporal workflow start
  '--bridge', // dockerd
  '--network', // docker run
  '--storage-opt', // docker run
  '--enable-auto-tool-choice', // vllm serve
  '--tool-call-parser', // vllm serve
  '--dtype', // vllm serve (through serve start --engine-arg=--dtype)
  '--no-fail-fast', // cargo test
  '--reporter', // vitest
  '--verbose', // jest, vitest
  '--typecheck', // vitest
  '--user', // pip install
  '--peak-tflops', // trainer/bench_train.py
  '--tensor-parallel-size', // vllm serve
]);

/** Where a sera-flow invocation starts in a piece of text, and the command words it names. */
const INVOCATION =
  /(?:npm run cli --|tsx client\/cli\.ts|\bsera-flow|(?<![\w.-])sera(?=\s+[a-z]))\s+((?:[a-z][a-z-]*(?:\|[a-z][a-z-]*)*)(?:\s+[a-z][a-z-]*(?:\|[a-z][a-z-]*)*)?)|npm run (demo|drill|example)\b/g;

function optionsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--([a-z0-9][a-z0-9-]*)/g)].map((m) => `--${m[1]}`);
}

function checkInvocations(unit: Unit, problems: string[]): void {
  const where = `${unit.file}:${unit.line}`;
  const starts = [...unit.text.matchAll(INVOCATION)];
  starts.forEach((m, k) => {
    const segment = unit.text.slice(m.index + m[0].length, starts[k + 1]?.index ?? unit.text.length);
    const words = m[1] ? m[1].split(/\s+/) : [m[2]!];
    // The first word is the command (`a|b` names several); the second a subcommand where it has them.
    const targets: Command[] = [];
    for (const name of words[0]!.split('|')) {
      const command = subcommand(program, name);
      if (!command) {
        problems.push(`${where}: \`${m[0].trim()}\`: the CLI has no command "${name}"`);
        continue;
      }
      if (command.commands.length && words[1]) {
        for (const subName of words[1].split('|')) {
          const sub = subcommand(command, subName);
          if (sub) targets.push(sub);
          else problems.push(`${where}: \`${m[0].trim()}\`: "${name}" has no subcommand "${subName}"`);
        }
      } else targets.push(command);
    }
    if (!targets.length) return;
    for (const option of optionsIn(segment))
      if (!targets.some((t) => longOptions(t).has(option)))
        problems.push(
          `${where}: option ${option} of \`${m[0].trim()}\` does not exist (${targets.map((t) => t.name()).join(', ')} take ${targets.flatMap((t) => [...longOptions(t)]).join(' ')})`,
        );
  });
}

describe('the docs name only commands and options the CLI has', () => {
  it('every `npm run cli -- <command> [sub]` (or sera-flow, npm run demo/drill/example) and its options', () => {
    const problems: string[] = [];
    for (const doc of docs.values()) for (const unit of doc.units) checkInvocations(unit, problems);
    expect(problems).toEqual([]);
  });

  it('every option named on its own in prose belongs to the CLI, the benchmarks or a named other program', () => {
    const problems: string[] = [];
    for (const doc of docs.values())
      for (const unit of doc.units) {
        if (unit.kind !== 'span' || !unit.text.startsWith('--')) continue;
        for (const option of optionsIn(unit.text))
          if (
            !everyProgramOption.has(option) &&
            !benchOptions.has(option) &&
            !OTHER_PROGRAMS_OPTIONS.has(option)
          )
            problems.push(`${unit.file}:${unit.line}: option ${option} is not an option of any command`);
      }
    expect(problems).toEqual([]);
  });

  it('every `npm run <script>` is a script of package.json', () => {
    const problems: string[] = [];
    for (const doc of docs.values())
      for (const unit of doc.units)
        for (const m of unit.text.matchAll(/npm run ([a-z][a-z:-]*)/g))
          if (!scripts.includes(m[1]!)) problems.push(`${unit.file}:${unit.line}: no npm script "${m[1]}"`);
    expect(problems).toEqual([]);
  });
});

// ---- config fields -------------------------------------------------------------------------

interface ZodDef {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  catchall?: AnySchema;
  options?: AnySchema[];
  valueType?: AnySchema;
  element?: AnySchema;
  left?: AnySchema;
  right?: AnySchema;
  getter?: () => AnySchema;
}

const defOf = (schema: AnySchema): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;

/** The schema itself without optional/default/pipe wrappers; unions and intersections give each part. */
function unwrap(schema: AnySchema): AnySchema[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return unwrap(def.innerType!);
    case 'pipe':
      return unwrap(def.in!);
    case 'lazy':
      return unwrap(def.getter!());
    case 'union':
      return def.options!.flatMap(unwrap);
    case 'intersection':
      return [...unwrap(def.left!), ...unwrap(def.right!)];
    default:
      return [schema];
  }
}

/** The schemas a key leads to from `schema` (none: the key is not accepted). */
function child(schema: AnySchema, key: string): AnySchema[] {
  return unwrap(schema).flatMap((s) => {
    const def = defOf(s);
    if (def.type === 'object') {
      const field = def.shape![key];
      if (field) return [field];
      return def.catchall && defOf(def.catchall).type !== 'never' ? [def.catchall] : [];
    }
    if (def.type === 'record') return [def.valueType!];
    if (def.type === 'any' || def.type === 'unknown') return [s];
    return [];
  });
}

function elementOf(schemas: AnySchema[]): AnySchema[] {
  return schemas.flatMap(unwrap).flatMap((s) => (defOf(s).type === 'array' ? [defOf(s).element!] : [s]));
}

/** The key paths of `value` that none of `schemas` accepts. */
function unknownKeys(schemas: AnySchema[], value: unknown, at: string[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => unknownKeys(elementOf(schemas), v, at));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => {
    const next = schemas.flatMap((s) => child(s, key));
    return next.length ? unknownKeys(next, v, [...at, key]) : [[...at, key].join('.')];
  });
}

function pathExists(schemas: AnySchema[], dotted: string): boolean {
  let current = schemas;
  for (const key of dotted.split('.')) {
    current = elementOf(current).flatMap((s) => child(s, key));
    if (!current.length) return false;
  }
  return true;
}

function sectionOf(file: string, heading: string): Section | undefined {
  const plain = heading.replace(/\s*\(.*$/, '').trim();
  return SECTIONS.find((s) => s.file.test(file) && (s.heading.test(heading) || s.heading.test(plain)));
}

/** A JSON or YAML block's values: whole documents, several objects in a row, or a fragment `"key": {…}`. */
function parseBlock(block: Block): unknown[] | undefined {
  const text = block.text.replace(/…/g, '');
  if (block.lang === 'yaml' || block.lang === 'yml') return [YAML.parse(text) as unknown];
  const tries = [text, `{${text}}`, `[${text.replace(/\}\s*\n\s*\{/g, '},{')}]`];
  for (const t of tries) {
    try {
      const value = JSON.parse(t) as unknown;
      return Array.isArray(value) && t !== text ? value : [value];
    } catch {
      // the next reading
    }
  }
  return undefined;
}

const looksLikeConfig = (block: Block): boolean =>
  ['json', 'yaml', 'yml'].includes(block.lang) || /^\s*(\{|"[A-Za-z]\w*"\s*:)/.test(block.text);

describe('the docs name only config fields the schemas accept', () => {
  it('every field of a config table', () => {
    const problems: string[] = [];
    for (const [file, doc] of docs)
      for (const table of doc.tables) {
        const section = sectionOf(file, table.heading);
        if (!section) {
          problems.push(
            `${file}:${table.line}: a field table under "${table.heading}" that docs-reference.test.ts does not know: add its schema to SECTIONS`,
          );
          continue;
        }
        if (!section.schemas.length) continue;
        for (const row of table.rows) {
          const spans = [...row.first.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
          // A table may name plain words (training.md's presets): take them as field names.
          const names = spans.length ? spans : row.first.split(',').map((s) => s.trim());
          for (const name of names)
            if (!pathExists(section.schemas, name))
              problems.push(
                `${file}:${row.line}: field "${name}" is not accepted by the schema of "${table.heading}"`,
              );
        }
      }
    expect(problems).toEqual([]);
  });

  it('every field of a JSON or YAML config example', () => {
    const problems: string[] = [];
    for (const [file, doc] of docs)
      for (const block of doc.blocks) {
        if (!looksLikeConfig(block)) continue;
        const section = sectionOf(file, block.heading);
        if (section && !section.schemas.length) continue;
        const values = parseBlock(block);
        if (!values) {
          problems.push(`${file}:${block.line}: a ${block.lang || 'JSON'} example that does not parse`);
          continue;
        }
        const candidates = section ? [section.schemas] : CONFIG_SCHEMAS.map((s) => [s]);
        for (const value of values) {
          const misses = candidates.map((schemas) => unknownKeys(schemas, value));
          if (misses.some((m) => m.length === 0)) continue;
          const fewest = misses.reduce((a, b) => (b.length < a.length ? b : a));
          problems.push(
            `${file}:${block.line}: example under "${block.heading}" names fields no config accepts: ${fewest.join(', ')}`,
          );
        }
      }
    expect(problems).toEqual([]);
  });
});
