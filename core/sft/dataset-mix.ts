import { z } from 'zod';
import type { FunctionTool } from '../agent/tools';
import { SeededRandom } from '../teacher/random';
import type { MixReport } from './dataset-report';
import { renderChatml, type InferenceMessage } from './hermes-format';
import { proveSftLine, SftLineSchema, type SftLine } from './sft-line';
import { pythonJsonDumps } from './python-json';

/**
 * General data in the dataset (the paper's specialization mix): repository lines and lines of
 * other datasets in the export format, α of them from the repository. Pure rules; the dataset
 * activity reads the sources and writes the file.
 */

/** Another run's dataset (or any export-format JSONL already in the artifact store). */
const ArtifactSourceSchema = z.strictObject({
  artifact: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'an artifact id: sha256:<64 hex digits>'),
  /** How reports and errors name it; the client sets it to the file a `file` source came from. */
  name: z.string().min(1).max(200).optional(),
});

/** A JSONL file on the machine that reads the config: the client stores it as an artifact. */
const FileSourceSchema = z.strictObject({ file: z.string().min(1) });

export const MixSourceSchema = z.union([ArtifactSourceSchema, FileSourceSchema]);
export type MixSource = z.output<typeof MixSourceSchema>;

export const DatasetMixSchema = z.strictObject({
  /** Share of repository lines in the mixed dataset: 1 only repository data, 0 only general data. */
  alpha: z.number().min(0).max(1),
  /** Datasets in the export format whose lines are drawn as the general share. */
  sources: z.array(MixSourceSchema).min(1),
  /** Lines of the mixed dataset. Default: as many as the repository dataset has. */
  size: z.number().int().positive().optional(),
  /** Seeds which general lines are drawn and the order the mixed lines are written in. */
  seed: z.number().int().default(0),
});
export type DatasetMix = z.output<typeof DatasetMixSchema>;

/** How a source is named in reports and errors. */
export function mixSourceLabel(source: MixSource, index: number): string {
  const what = 'file' in source ? `file ${source.file}` : (source.name ?? `${source.artifact.slice(0, 19)}…`);
  return `dataset.mix.sources[${index}] (${what})`;
}

// What the Qwen3 template writes around the tool schemas in the system turn (hermesSystemPrompt).
const TOOLS_HEAD =
  '# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>';
const TOOLS_TAIL =
  '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>';

/** The conversation a line was rendered from, as far as the line's text says it. */
export interface RecoveredConversation {
  messages: InferenceMessage[];
  tools: FunctionTool[];
  /** What could not be read back (a tool schema or call that is not JSON, text after the calls). */
  flaws: string[];
}

function recoverSystem(content: string, flaws: string[]): { system?: string; tools: FunctionTool[] } {
  const head = content.indexOf(TOOLS_HEAD);
  if (head < 0) return { system: content, tools: [] };
  const before = content.slice(0, head);
  const body = content.slice(head + TOOLS_HEAD.length);
  if (!body.endsWith(TOOLS_TAIL)) flaws.push('the system turn does not end as the template ends its tools');
  const schemas = body
    .slice(0, body.length - TOOLS_TAIL.length)
    .split('\n')
    .slice(1);
  const tools: FunctionTool[] = [];
  schemas.forEach((text, i) => {
    try {
      tools.push(JSON.parse(text) as FunctionTool);
    } catch {
      flaws.push(`tool ${i + 1} in the system turn is not JSON`);
    }
  });
  // The template writes the caller's system prompt, then a blank line, then the tools.
  if (before === '') return { tools };
  if (!before.endsWith('\n\n'))
    flaws.push('the system prompt is not followed by a blank line before the tools');
  return { system: before.slice(0, -2), tools };
}

const CALL_OPEN = '<tool_call>\n';
const CALL_CLOSE = '\n</tool_call>';

function recoverAssistant(
  content: string,
  index: number,
  flaws: string[],
): Extract<InferenceMessage, { role: 'assistant' }> {
  const first = content.indexOf('<tool_call>');
  if (first < 0) return { role: 'assistant', content };
  let before = content.slice(0, first);
  // The template puts a newline between the turn's text (after any reasoning) and its first call.
  const text = before.includes('</think>') ? before.split('</think>').pop()!.replace(/^\n+/, '') : before;
  if (text !== '' && before.endsWith('\n')) before = before.slice(0, -1);
  const calls: Array<{ type: 'function'; function: { name: string; arguments: string } }> = [];
  let rest = content.slice(first);
  while (rest !== '') {
    if (calls.length > 0) rest = rest.startsWith('\n') ? rest.slice(1) : rest;
    const end = rest.indexOf(CALL_CLOSE);
    if (!rest.startsWith(CALL_OPEN) || end < 0) {
      flaws.push(`message ${index}: text after its tool calls, or a <tool_call> block left open`);
      break;
    }
    const body = rest.slice(CALL_OPEN.length, end);
    rest = rest.slice(end + CALL_CLOSE.length);
    let call: { name?: unknown; arguments?: unknown };
    try {
      call = JSON.parse(body) as typeof call;
    } catch {
      flaws.push(`message ${index}: tool call ${calls.length + 1} is not JSON`);
      break;
    }
    const args = call.arguments;
    if (typeof call.name !== 'string' || args === null || typeof args !== 'object' || Array.isArray(args)) {
      flaws.push(
        `message ${index}: tool call ${calls.length + 1} has no name or its arguments are not a JSON object`,
      );
      break;
    }
    // Spelled as vLLM hands parsed arguments back: the template must then write the same text.
    calls.push({ type: 'function', function: { name: call.name, arguments: pythonJsonDumps(args) } });
  }
  return calls.length > 0
    ? { role: 'assistant', content: before, tool_calls: calls }
    : { role: 'assistant', content: before };
}

/**
 * Reads a line of another dataset back into the conversation and tools it claims to render: the
 * tools from the system turn's `<tools>` block, each assistant turn's text and `<tool_call>`
 * blocks. The format proof then renders that conversation with the official template and must
 * get the line's text back, so a line that is not exactly what the template writes fails it.
 */
export function recoverConversation(line: SftLine): RecoveredConversation {
  const flaws: string[] = [];
  const messages: InferenceMessage[] = [];
  let tools: FunctionTool[] = [];
  line.messages.forEach((m, i) => {
    if (i === 0 && m.role === 'system') {
      const system = recoverSystem(m.content, flaws);
      tools = system.tools;
      if (system.system !== undefined) messages.push({ role: 'system', content: system.system });
    } else if (m.role === 'assistant') {
      messages.push(recoverAssistant(m.content, i, flaws));
    } else {
      // Tool results stay a user turn: the template renders both alike and reads queries alike.
      messages.push({ role: m.role, content: m.content });
    }
  });
  return { messages, tools, flaws };
}

export interface ProvenGeneralLine {
  /** The line as it will be written (the source's text, surrounding whitespace trimmed). */
  text: string;
  line: SftLine;
  /** Counted here with the student's tokenizer, not taken from the line's meta. */
  tokens: number;
}

/**
 * The format proof for a line of another dataset: the same proof every repository line passes,
 * against the conversation the line's own text gives, and it must fit the student's context.
 */
export function proveGeneralLine(
  text: string,
  maxTokens: number,
  renderTemplate: (messages: InferenceMessage[], tools: FunctionTool[]) => string,
  countTokens: (text: string) => number,
): { proven: ProvenGeneralLine } | { flaws: string[] } {
  let line: SftLine;
  try {
    const parsed = SftLineSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        flaws: [`not the export format: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`],
      };
    }
    line = parsed.data;
  } catch (error) {
    return { flaws: [`not JSON: ${(error as Error).message}`] };
  }
  const recovered = recoverConversation(line);
  if (recovered.flaws.length > 0) return { flaws: recovered.flaws };
  const flaws = proveSftLine(text, recovered.messages, recovered.tools, renderTemplate);
  if (flaws.length > 0) return { flaws };
  const tokens = countTokens(renderChatml(line.messages));
  if (tokens > maxTokens)
    return { flaws: [`${tokens} tokens, more than the context (maxTokens ${maxTokens})`] };
  return { proven: { text, line, tokens } };
}

/** Every line of one source proven, or the lines that fail with why (line numbers from 1). */
export async function proveGeneralSource(
  content: string,
  maxTokens: number,
  renderTemplate: (messages: InferenceMessage[], tools: FunctionTool[]) => string,
  countTokens: (text: string) => number,
  /** Called every 50 lines, so a long source can heartbeat and yield. */
  progress: (linesRead: number) => Promise<void> = async () => undefined,
): Promise<{ lines: ProvenGeneralLine[]; bad: Array<{ line: number; flaws: string[] }>; total: number }> {
  const lines: ProvenGeneralLine[] = [];
  const bad: Array<{ line: number; flaws: string[] }> = [];
  let total = 0;
  const raws = content.split('\n');
  for (let i = 0; i < raws.length; i += 1) {
    const text = raws[i]!.trim();
    if (text === '') continue; // blank lines (the file's last newline) are not samples
    total += 1;
    if (total % 50 === 0) await progress(total);
    const result = proveGeneralLine(text, maxTokens, renderTemplate, countTokens);
    if ('proven' in result) lines.push(result.proven);
    else bad.push({ line: i + 1, flaws: result.flaws });
  }
  return { lines, bad, total };
}

const SHOWN_BAD_LINES = 10;

/** One message for a source whose lines fail the proof: which lines (the first ten) and why. */
export function describeBadSource(
  label: string,
  bad: Array<{ line: number; flaws: string[] }>,
  total: number,
): string {
  const shown = bad
    .slice(0, SHOWN_BAD_LINES)
    .map((b) => `line ${b.line}: ${b.flaws.join('; ').slice(0, 200)}`)
    .join('; ');
  const more = bad.length > SHOWN_BAD_LINES ? ` (first ${SHOWN_BAD_LINES} shown)` : '';
  return `${label}: ${bad.length} of ${total} lines fail the format proof${more}: ${shown}`;
}

export interface MixPlan {
  /** Lines each side has: the repository dataset's, and the general sources' together. */
  repositoryAvailable: number;
  generalAvailable: number;
  /** Lines asked for: `size`, or the repository dataset's line count. */
  requested: number;
  /** Lines the mixed dataset gets: `requested`, or fewer when a side has too few lines. */
  total: number;
  repository: number;
  general: number;
  /** Why the total is below the request, when it is. */
  shortfall?: string;
}

/**
 * How many lines come from each side: round(α·total) repository lines (half rounds up), the rest
 * general. When a side has too few lines for that, the total shrinks to the largest one both sides
 * can fill, so the share stays α instead of silently drifting.
 */
export function planMix(
  alpha: number,
  repositoryLines: number,
  generalLines: number,
  size?: number,
): MixPlan {
  const requested = size ?? repositoryLines;
  const split = (total: number) => {
    const repository = Math.round(alpha * total);
    return { repository, general: total - repository };
  };
  let total = requested;
  while (total > 0) {
    const s = split(total);
    if (s.repository <= repositoryLines && s.general <= generalLines) break;
    total -= 1;
  }
  const plan: MixPlan = {
    repositoryAvailable: repositoryLines,
    generalAvailable: generalLines,
    requested,
    total,
    ...split(total),
  };
  if (total < requested) {
    const wanted = split(requested);
    plan.shortfall =
      wanted.repository > repositoryLines
        ? `the repository dataset has ${repositoryLines} lines, α ${alpha} of ${requested} needs ${wanted.repository}`
        : `the general sources have ${generalLines} proven lines, ${requested} lines at α ${alpha} need ${wanted.general}`;
  }
  return plan;
}

/** One line of the mixed dataset and where it came from: the repository, or source i. */
export interface MixedLine<T> {
  from: 'repository' | number;
  item: T;
}

/**
 * The mixed dataset: the first `plan.repository` repository lines (they come ranked, best
 * truncation ratio first), `plan.general` general lines drawn from all sources pooled, then all of
 * them in one shuffled order. The seed decides both draws, so the same inputs give the same file.
 */
export function drawMix<T>(
  plan: MixPlan,
  repository: T[],
  sources: T[][],
  seed: number,
): Array<MixedLine<T>> {
  const pool = sources.flatMap((lines, from) => lines.map((item) => ({ from, item })));
  const general = new SeededRandom('mix-general', seed).shuffle(pool).slice(0, plan.general);
  const taken: Array<MixedLine<T>> = [
    ...repository.slice(0, plan.repository).map((item) => ({ from: 'repository' as const, item })),
    ...general,
  ];
  return new SeededRandom('mix-order', seed).shuffle(taken);
}

/** The report's mix section: α, and the lines and tokens each side gave. */
export function mixReport(
  mix: DatasetMix,
  plan: MixPlan,
  mixed: Array<MixedLine<{ meta: { tokens: number } }>>,
  sources: Array<{ name: string; artifact: string; available: number }>,
): MixReport {
  const share = (from: 'repository' | number, available: number) => {
    const taken = mixed.filter((m) => m.from === from);
    return { available, taken: taken.length, tokens: taken.reduce((n, m) => n + m.item.meta.tokens, 0) };
  };
  return {
    alpha: mix.alpha,
    seed: mix.seed,
    requested: plan.requested,
    lines: plan.total,
    repositoryShare: plan.total > 0 ? plan.repository / plan.total : 0,
    ...(plan.shortfall ? { shortfall: plan.shortfall } : {}),
    repository: share('repository', plan.repositoryAvailable),
    sources: sources.map((s, i) => ({ ...s, ...share(i, s.available) })),
  };
}
