import { REPO_DIR } from '../agent/prompts';
import type { ChatMessage } from '../agent/trajectory';
import { languageOf, type TeacherLanguage } from './languages';
import type { TeacherReply } from './policy';
import { hash32, SeededRandom } from './random';

/**
 * The offline teacher's realistic mode: a test instrument, not a model. It takes the clean
 * teacher's reply (policy.ts) and serves it the way reasoning teachers behind vLLM or a hosted API
 * do: thinking in `reasoning_content` or inline as `<think>…</think>`, decoy answers inside that
 * thinking, replies cut at the token limit, text where a tool call belonged, empty replies, two
 * read-only calls in one reply, and a reproduction script that it removes only when the submit
 * review asks. Every choice is drawn from the request's seed and messages, so the same request
 * gives the same bytes and a new seed a new draw, as a sampling server does.
 */
export const REALISTIC_BEHAVIOURS = [
  'reasoning_field',
  'reasoning_inline',
  'decoy',
  'cut_length',
  'no_tool_call',
  'empty',
  'parallel_calls',
  'reproduction_created',
  'reproduction_run',
  'reproduction_removed',
  'no_usage',
] as const;
export type RealisticBehaviour = (typeof REALISTIC_BEHAVIOURS)[number];

/** Shares in [0, 1]; each is drawn per reply unless its comment says otherwise. */
export interface RealisticRates {
  /** Replies that think before they answer. */
  reasoning: number;
  /** Of those, the ones with the thinking inline in `content` rather than in the reasoning field. */
  reasoningInline: number;
  /** Judge and PR-writer replies whose thinking holds the opposite answer, in the answer's own tags. */
  decoy: number;
  /** Rollout replies that think on for `rambleTokens` (cut when the limit is lower). */
  cut: number;
  /** Rollout replies with text (a shell block) where the tool call belonged. */
  noToolCall: number;
  /** Rollout replies with nothing in them. */
  empty: number;
  /** Rollouts that, at their first look at the file, send two read-only shell calls in one reply. */
  parallel: number;
  /** Rollouts that write and run a reproduction script before their first edit. */
  reproduction: number;
  /** Replies sent without a `usage` object. */
  noUsage: number;
}

export const DEFAULT_REALISTIC_RATES: RealisticRates = {
  reasoning: 0.9,
  reasoningInline: 0.5,
  decoy: 0.5,
  cut: 0.08,
  noToolCall: 0.05,
  empty: 0.03,
  parallel: 0.3,
  reproduction: 0.8,
  noUsage: 0,
};

export interface RealisticSettings {
  rates: RealisticRates;
  /** Any reply needs this many tokens: a request allowing fewer is always cut. */
  minReplyTokens: number;
  /** What a rambling rollout reply needs: cut below it, whole at or above it. */
  rambleTokens: number;
  /** The server's context length, the limit of a request that names none. */
  contextTokens: number;
  /** Where thinking goes when it is not inline: vLLM's reasoning parser fills `reasoning_content`. */
  reasoningField: 'reasoning_content' | 'reasoning';
}

export const DEFAULT_REALISTIC_SETTINGS: RealisticSettings = {
  rates: DEFAULT_REALISTIC_RATES,
  minReplyTokens: 1024,
  rambleTokens: 6000,
  contextTokens: 131_072,
  reasoningField: 'reasoning_content',
};

/** The text a decoy PR description holds; nothing real should ever carry it. */
export const DECOY_PR_TEXT = 'Draft I will not send: every function in this library crashes on import.';

export interface RealisticRequest {
  messages: ChatMessage[];
  seed: number;
  hasTools: boolean;
  /** `max_completion_tokens` or `max_tokens`, when the request names one. */
  maxTokens?: number;
  promptTokens: number;
}

export interface RealisticReply {
  content: string | null;
  /** Thinking for the reasoning field (absent when there is none or it is inline). */
  reasoning?: string;
  /** Arguments as sent: JSON text, possibly cut. */
  toolCalls: Array<{ name: string; arguments: string }>;
  finishReason: 'stop' | 'tool_calls' | 'length';
  /** Set on a cut reply: it used up the whole limit. */
  completionTokens?: number;
  withUsage: boolean;
  behaviours: RealisticBehaviour[];
}

type Call = TeacherReply['toolCalls'][number];

export function realisticReply(
  request: RealisticRequest,
  base: TeacherReply,
  settings: RealisticSettings = DEFAULT_REALISTIC_SETTINGS,
): RealisticReply {
  const rates = settings.rates;
  // Every draw is taken, in the same order, whatever the rates: a rate changes one behaviour only.
  const random = new SeededRandom('realistic', request.seed, hash32(JSON.stringify(request.messages)));
  const draws = {
    reasoning: random.next(),
    inline: random.next(),
    decoy: random.next(),
    cut: random.next(),
    cutKind: random.next(),
    noToolCall: random.next(),
    empty: random.next(),
    parallel: random.next(),
    reproduction: random.next(),
    viaShell: random.next(),
    noUsage: random.next(),
  };
  const behaviours: RealisticBehaviour[] = [];
  const withUsage = draws.noUsage >= rates.noUsage;
  if (!withUsage) behaviours.push('no_usage');
  const limit = request.maxTokens ?? Math.max(0, settings.contextTokens - request.promptTokens);

  if (request.hasTools && draws.empty < rates.empty) {
    behaviours.push('empty');
    return { content: '', toolCalls: [], finishReason: 'stop', withUsage, behaviours };
  }

  let answer: TeacherReply;
  let thinking: string;
  let decoy = false;
  if (request.hasTools) {
    const step = rolloutStep(request.messages, base, {
      parallel: draws.parallel < rates.parallel,
      reproduce: draws.reproduction < rates.reproduction,
      viaShell: draws.viaShell < 0.3,
    });
    behaviours.push(...step.behaviours);
    answer = step.reply;
    thinking = rolloutThinking(answer, random);
  } else {
    const side = sideAnswer(base.content ?? '');
    answer = base;
    decoy = side !== undefined && draws.decoy < rates.decoy;
    thinking = sideThinking(side, decoy, random);
    if (decoy) behaviours.push('decoy');
  }
  const thinks = decoy || draws.reasoning < rates.reasoning;
  const inline = draws.inline < rates.reasoningInline;

  const rambling = request.hasTools && draws.cut < rates.cut;
  if (limit < (rambling ? settings.rambleTokens : settings.minReplyTokens)) {
    behaviours.push('cut_length');
    return { ...cutReply(answer, thinking, inline, draws.cutKind < 0.5, limit), withUsage, behaviours };
  }

  let visible = answer.content;
  let calls = answer.toolCalls;
  if (request.hasTools && calls.length > 0 && draws.noToolCall < rates.noToolCall) {
    behaviours.push('no_tool_call');
    visible = textInsteadOfCall(answer);
    calls = [];
  }
  const toolCalls = calls.map((c) => ({ name: c.name, arguments: JSON.stringify(c.arguments) }));
  const finishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
  if (!thinks) return { content: visible, toolCalls, finishReason, withUsage, behaviours };
  if (inline) {
    behaviours.push('reasoning_inline');
    return { content: thinkBlock(thinking, visible), toolCalls, finishReason, withUsage, behaviours };
  }
  behaviours.push('reasoning_field');
  return { content: visible, reasoning: thinking, toolCalls, finishReason, withUsage, behaviours };
}

function thinkBlock(thinking: string, visible: string | null): string {
  return `<think>\n${thinking}\n</think>\n\n${visible ?? ''}`;
}

/**
 * A reply that hit the limit: either the thinking stops mid-word and nothing follows, or the
 * answer got as far as the tool call and its JSON stops half-way.
 */
function cutReply(
  answer: TeacherReply,
  thinking: string,
  inline: boolean,
  inCall: boolean,
  limit: number,
): Omit<RealisticReply, 'withUsage' | 'behaviours'> {
  const first = answer.toolCalls[0];
  if (inCall && first) {
    const args = JSON.stringify(first.arguments);
    return {
      content: inline ? thinkBlock(thinking, answer.content) : answer.content,
      ...(inline ? {} : { reasoning: thinking }),
      toolCalls: [{ name: first.name, arguments: args.slice(0, Math.max(1, Math.floor(args.length / 2))) }],
      finishReason: 'length',
      completionTokens: limit,
    };
  }
  const partial = thinking.slice(0, Math.max(1, Math.floor(thinking.length * 0.6)));
  return {
    content: inline ? `<think>\n${partial}` : null,
    ...(inline ? {} : { reasoning: partial }),
    toolCalls: [],
    finishReason: 'length',
    completionTokens: limit,
  };
}

/** What a model writes when it forgets the tool: the command in a code block. */
function textInsteadOfCall(answer: TeacherReply): string {
  const call = answer.toolCalls[0];
  const shown =
    call?.name === 'bash'
      ? String(call.arguments.command ?? '')
      : `${call?.name ?? ''} ${JSON.stringify(call?.arguments ?? {})}`;
  return `${answer.content ?? 'Next step.'}\n\n\`\`\`\n${shown}\n\`\`\``;
}

// ---------------------------------------------------------------------------------------------
// Rollouts: the reproduction script and the parallel reads, decided from what the history shows.

interface PastCall {
  name: string;
  args: Record<string, unknown>;
  observation: string;
  /** Index of the assistant message that made it. */
  turn: number;
}

function pastCalls(messages: ChatMessage[]): PastCall[] {
  const observations = new Map<string, string>();
  for (const m of messages) if (m.role === 'tool') observations.set(m.tool_call_id, m.content);
  const calls: PastCall[] = [];
  messages.forEach((m, turn) => {
    if (m.role !== 'assistant') return;
    for (const call of m.tool_calls ?? []) {
      let args: Record<string, unknown> = {};
      try {
        args = JSON.parse(call.function.arguments) as Record<string, unknown>;
      } catch {
        // A call cut or garbled earlier: it counts as made, with no arguments.
      }
      calls.push({ name: call.function.name, args, observation: observations.get(call.id) ?? '', turn });
    }
  });
  return calls;
}

interface Script {
  /** Relative to the repository root. */
  file: string;
  text: string;
  run: string;
}

const SCRIPT_NAMES = ['reproduce_issue', 'ReproduceIssue'];

/** The reproduction script a model writes for a function in `file`, in the file's language. */
export function reproductionScript(file: string, functionName: string): Script {
  const language: TeacherLanguage = languageOf(file);
  const name = functionName.split('.').pop() ?? functionName;
  const owner = functionName.split('.')[0] ?? name;
  const stem = file.replace(/\.[^./]+$/, '');
  switch (language) {
    case 'python': {
      const module = stem.replace(/\//g, '.').replace(/\.__init__$/, '');
      return {
        file: 'reproduce_issue.py',
        text: [
          `# Reproduce the reported behaviour of ${functionName}.`,
          `from ${module} import ${owner}`,
          '',
          `print("${functionName}:", ${owner})`,
          '',
        ].join('\n'),
        run: 'python3 reproduce_issue.py',
      };
    }
    case 'javascript':
      return {
        file: 'reproduce_issue.js',
        text: `// Reproduce the reported behaviour of ${functionName}.\nconst mod = require('./${stem}');\nconsole.log('${name}:', typeof mod.${owner});\n`,
        run: 'node reproduce_issue.js',
      };
    case 'typescript':
      return {
        file: 'reproduce_issue.ts',
        text: `// Reproduce the reported behaviour of ${functionName}.\nimport * as mod from './${stem}';\nconsole.log('${name}:', Object.keys(mod).length);\n`,
        run: 'npx --no-install tsx reproduce_issue.ts',
      };
    case 'go':
      return {
        file: 'reproduce_issue.go',
        // Kept out of the package's build, as a careful engineer would.
        text: `//go:build ignore\n\n// Reproduce the reported behaviour of ${functionName}.\npackage main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("checking ${name} in ${file}")\n}\n`,
        run: 'go run reproduce_issue.go',
      };
    case 'rust':
      return {
        file: 'reproduce_issue.rs',
        text: `// Reproduce the reported behaviour of ${functionName}.\nfn main() {\n    println!("checking ${name} in ${file}");\n}\n`,
        run: 'rustc reproduce_issue.rs -o /tmp/reproduce_issue && /tmp/reproduce_issue',
      };
    case 'java':
      return {
        file: 'ReproduceIssue.java',
        text: `// Reproduce the reported behaviour of ${functionName}.\npublic class ReproduceIssue {\n    public static void main(String[] args) {\n        System.out.println("checking ${name} in ${file}");\n    }\n}\n`,
        run: 'java ReproduceIssue.java',
      };
  }
}

function scriptPathOf(call: PastCall): string | undefined {
  const named = (text: string): string | undefined =>
    SCRIPT_NAMES.map((n) => new RegExp(`(?:^|[\\s/>])(${n}\\.\\w+)\\b`).exec(text)?.[1]).find(Boolean);
  if (call.name === 'str_replace_editor' && call.args.command === 'create')
    return named(String(call.args.path));
  if (call.name === 'bash') {
    const command = String(call.args.command ?? '');
    if (/^cat > /.test(command)) return named(command.split('\n')[0] ?? '');
  }
  return undefined;
}

/**
 * Does this submit observation ask for reproduction scripts to be removed? Only the review's own
 * words count, not the diff below them (where the script's name shows anyway).
 */
export function reviewAsksRemoval(observation: string): boolean {
  const words = observation.split(/\ndiff --git |<diff>/)[0] ?? '';
  return /(remov|delet)[^.\n]*reproduc|reproduc[^.\n]*(remov|delet)/i.test(words);
}

interface Step {
  reply: TeacherReply;
  behaviours: RealisticBehaviour[];
}

const bash = (command: string): Call => ({ name: 'bash', arguments: { command } });

function rolloutStep(
  messages: ChatMessage[],
  base: TeacherReply,
  choices: { parallel: boolean; reproduce: boolean; viaShell: boolean },
): Step {
  const keep: Step = { reply: base, behaviours: [] };
  const calls = pastCalls(messages);
  const created = calls.map((c, i) => ({ path: scriptPathOf(c), i })).find((c) => c.path);
  const scriptFile = created?.path;
  const removed =
    scriptFile !== undefined &&
    calls.some(
      (c, i) =>
        i > (created?.i ?? 0) &&
        c.name === 'bash' &&
        /\brm\b/.test(String(c.args.command)) &&
        String(c.args.command).includes(scriptFile),
    );
  const next = base.toolCalls[0];

  // The submit review asked for the script to go: it goes, and the next reply submits again.
  const last = calls[calls.length - 1];
  if (scriptFile && !removed && last?.name === 'submit' && reviewAsksRemoval(last.observation)) {
    return {
      reply: {
        content: 'The review asks me to remove the reproduction script.',
        toolCalls: [bash(`rm ${scriptFile}`)],
      },
      behaviours: ['reproduction_removed'],
    };
  }
  if (!next) return keep;

  const editsMade = calls.some((c) => c.name === 'str_replace_editor' && c.args.command === 'str_replace');
  const firstEdit =
    next.name === 'str_replace_editor' && next.arguments.command === 'str_replace' && !editsMade;
  if (firstEdit && !scriptFile && choices.reproduce) {
    const script = reproductionScript(String(next.arguments.path ?? ''), functionFrom(messages, base));
    return {
      reply: {
        content: 'Before changing anything I will write a small script that shows the behaviour.',
        toolCalls: [
          // Some write it with the editor, some with a here-document.
          choices.viaShell
            ? bash(`cat > ${script.file} << 'EOF'\n${script.text}EOF`)
            : {
                name: 'str_replace_editor',
                arguments: { command: 'create', path: `${REPO_DIR}/${script.file}`, file_text: script.text },
              },
        ],
      },
      behaviours: ['reproduction_created'],
    };
  }
  if (scriptFile && !removed) {
    const runCommand = calls.find((c) => c.name === 'bash' && isRunOf(String(c.args.command), scriptFile));
    const lastRun = calls.findLastIndex(
      (c) => c.name === 'bash' && isRunOf(String(c.args.command), scriptFile),
    );
    const lastEdit = calls.findLastIndex(
      (c) => c.name === 'str_replace_editor' && c.args.command === 'str_replace',
    );
    const run = String(runCommand?.args.command ?? runFor(scriptFile));
    if (lastRun < 0) {
      return {
        reply: { content: 'Let me run it to see the current behaviour.', toolCalls: [bash(run)] },
        behaviours: ['reproduction_run'],
      };
    }
    if (next.name === 'submit' && lastEdit > lastRun) {
      return {
        reply: { content: 'Running the script again after the change.', toolCalls: [bash(run)] },
        behaviours: ['reproduction_run'],
      };
    }
  }

  const viewsFile = next.name === 'str_replace_editor' && next.arguments.command === 'view';
  const hadParallel = messages.some((m) => m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 1);
  if (viewsFile && !hadParallel && choices.parallel) {
    const file = String(next.arguments.path ?? '.');
    const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    return {
      reply: {
        content: 'Two quick looks first: the folder and the size of the file.',
        toolCalls: [bash(`ls ${dir}`), bash(`wc -l ${file}`)],
      },
      behaviours: ['parallel_calls'],
    };
  }
  return keep;
}

function runFor(scriptFile: string): string {
  const ext = scriptFile.slice(scriptFile.lastIndexOf('.'));
  const script = reproductionScript(`x${ext}`, 'x');
  return script.file === scriptFile ? script.run : `python3 ${scriptFile}`;
}

function isRunOf(command: string, scriptFile: string): boolean {
  return command.includes(scriptFile) && !/^cat > /.test(command) && !/\brm\b/.test(command);
}

/** The function the task is about, from the base reply's words (`name`) or the task text. */
function functionFrom(messages: ChatMessage[], base: TeacherReply): string {
  const said = /`([\w.$]+)`/.exec(base.content ?? '')?.[1];
  if (said) return said;
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  return /`([\w.$]+)`/.exec(user)?.[1] ?? 'the function';
}

// ---------------------------------------------------------------------------------------------
// Thinking text.

function rolloutThinking(answer: TeacherReply, random: SeededRandom): string {
  const call = answer.toolCalls[0];
  const openers = [
    'Let me think about where I am.',
    'Okay, picking up from the last observation.',
    'Right.',
    'So far so good, I think.',
    'Let me take stock before the next step.',
    'Hmm, one thing at a time.',
  ];
  const closers = [
    'I should keep the change small and leave the tests alone.',
    'Edge cases can wait until the main behaviour is clear.',
    'That should tell me enough to decide the next step.',
    'If this turns out wrong I can always undo it.',
    'The rest of the repository should not need to change.',
    'Better to check than to guess here.',
  ];
  let middle: string[];
  if (!call) middle = ['There is nothing left to run.', 'I will just answer.'];
  else if (call.name === 'bash') {
    const command = String(call.arguments.command ?? '').split('\n')[0] ?? '';
    middle = [
      `Running \`${command}\` should show me what I need.`,
      `The shell is quickest for this: \`${command}\`.`,
      `I want the output of \`${command}\` before going further.`,
    ];
  } else if (call.name === 'str_replace_editor') {
    const what = String(call.arguments.command ?? 'view');
    const file = String(call.arguments.path ?? '');
    middle = [
      `The editor's ${what} on ${file} is the natural next move.`,
      `I will use ${what} on ${file} now.`,
      `Next: ${what} in ${file}.`,
    ];
  } else {
    middle = [
      'The change looks complete to me.',
      'I believe the work is done; time to hand it in.',
      'Nothing else needs changing, so I will submit.',
    ];
  }
  return [random.pick(openers), random.pick(middle), random.pick(closers)].join(' ');
}

interface SideAnswer {
  /** The answer's tag, when it sits in one (`output`, `pr_description`). */
  tag?: string;
  /** The judge's word, when the answer is yes or no. */
  word?: 'yes' | 'no';
}

/** Reads what kind of side answer the clean teacher gave: a judge's word or a tagged text. */
export function sideAnswer(content: string): SideAnswer | undefined {
  const tagged = /<([a-z_]+)>([\s\S]*?)<\/\1>/i.exec(content);
  const inner = (tagged?.[2] ?? content).trim().toLowerCase().replace(/[.!]$/, '');
  const word = inner === 'yes' || inner === 'no' ? inner : undefined;
  if (!tagged && !word) return undefined;
  return { ...(tagged?.[1] ? { tag: tagged[1] } : {}), ...(word ? { word } : {}) };
}

function sideThinking(side: SideAnswer | undefined, decoy: boolean, random: SeededRandom): string {
  const review = [
    'I read through the steps the engineer took.',
    'Let me go over what was done, step by step.',
    'The steps are in order; I will read them once.',
  ];
  if (side?.word) {
    const opposite = side.word === 'yes' ? 'no' : 'yes';
    const lead = random.pick(review);
    if (!decoy)
      return `${lead} The change matches what was asked, as far as I can tell. I will give my answer.`;
    const draft = side.tag ? `<${side.tag}>${opposite}</${side.tag}>` : opposite;
    return `My first instinct is ${opposite}. ${lead} A first draft of the answer would be ${draft}, but on a closer look that is not right.`;
  }
  const lead = random.pick([
    'I need to describe what a user would notice.',
    'Let me write it as a user reporting a problem.',
    'The description should be about behaviour, not the fix.',
  ]);
  if (!decoy) return `${lead} I will keep it short and in the style of the examples.`;
  const tag = side?.tag ?? 'pr_description';
  return `${lead} A first attempt:\n<${tag}>\n${DECOY_PR_TEXT}\n</${tag}>\nThat overstates it; I will write a better one.`;
}
