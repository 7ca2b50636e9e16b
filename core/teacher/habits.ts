import { containerPattern, definitionPatterns } from './brace-functions';
import {
  includeGlobs,
  languageOf,
  syntaxCheckCommand,
  syntaxCheckPassed,
  type TeacherLanguage,
} from './languages';

/**
 * How the teacher finds, reads and checks a function, per language: the shell commands it types
 * and how it reads their output. A plain Python name keeps the commands it always had (recorded
 * trajectories depend on them); qualified names and the brace languages use grep -E patterns.
 */
export interface Habits {
  language: TeacherLanguage;
  locate: string;
  isLocate(command: string): boolean;
  /** The 1-based line of the definition in the locate command's output (1 when not found). */
  definitionLine(observation: string): number;
  callers: string;
  /** The first line to view: brace languages look a little above, at the doc comment. */
  viewStart(definitionLine: number): number;
  check: string;
  isCheck(command: string): boolean;
  checkPassed(observation: string): boolean;
}

/** Lines above the definition a view includes in brace languages (doc comments, overloads). */
const LEAD_LINES = 30;

export function habitsFor(file: string, functionName: string): Habits {
  const language = languageOf(file);
  const parts = functionName.split('.');
  const name = parts[parts.length - 1] ?? functionName;
  const outer = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const python = language === 'python';
  const check = python
    ? `python3 -m py_compile ${file} && echo compiled`
    : syntaxCheckCommand(language, file);
  const common = {
    language,
    check,
    isCheck: (command: string) => (python ? command.includes('py_compile') : command === check),
    checkPassed: (observation: string) =>
      python ? observation.includes('compiled') : syntaxCheckPassed(observation),
  };
  if (python && !outer) {
    return {
      ...common,
      locate: `grep -n "def ${name}" ${file} || grep -rn "def ${name}(" --include=*.py . | head -5`,
      isLocate: (command) => command.includes(`def ${name}`),
      definitionLine: (observation) =>
        Number(
          /^(?:[^:\n]*:)?(\d+):\s*(?:async\s+)?def /m.exec(observation.replace(/^OBSERVATION:\n/, ''))?.[1] ??
            1,
        ),
      callers: `grep -rn "${name}(" --include=*.py . | head -20`,
      viewStart: (line) => line,
    };
  }
  const pattern = grepPattern(language, name, outer);
  const locate = `grep -nE '${pattern}' ${file} || grep -rnE '${pattern}' ${includeGlobs(language)} . | head -5`;
  return {
    ...common,
    locate,
    isLocate: (command) => command === locate,
    definitionLine: (observation) => pickDefinition(language, name, outer, observation),
    callers: `grep -rn "${name}(" ${includeGlobs(language)} . | head -20`,
    viewStart: (line) => (python ? line : Math.max(1, line - LEAD_LINES)),
  };
}

/** A grep -E pattern for the lines that may define the function or open its container. */
function grepPattern(language: TeacherLanguage, name: string, outer: string | undefined): string {
  const n = name.replace(/\$/g, '\\$');
  const o = outer?.replace(/\$/g, '\\$');
  const container = (opener: string): string => (o ? `|${opener}` : '');
  switch (language) {
    case 'python':
      return `^\\s*(async\\s+)?def\\s+${n}\\b${container(`^\\s*class\\s+${o}\\b`)}`;
    case 'go':
      return `^func\\s+(\\([^)]*\\)\\s*)?${n}\\s*[[(]`;
    case 'rust':
      return `\\bfn\\s+${n}\\b${container(`\\b(impl|trait)\\b.*\\b${o}\\b`)}`;
    case 'java':
      return `\\b${n}\\s*\\(${container(`\\b(class|interface|enum|record)\\s+${o}\\b`)}`;
    default:
      return `function\\*?\\s+${n}\\b|^\\s*([a-z]+\\s+)*#?${n}\\s*[?!]?\\s*[(:=<]${container(`\\b(class|interface|namespace)\\s+${o}\\b`)}`;
  }
}

/** The definition's line in grep output: for `Outer.name`, the first one after `Outer` opens. */
function pickDefinition(
  language: TeacherLanguage,
  name: string,
  outer: string | undefined,
  observation: string,
): number {
  const hits = observation
    .replace(/^OBSERVATION:\n/, '')
    .split('\n')
    .map((line) => /^(?:[^:\n]*:)?(\d+):(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ line: Number(m[1]), text: m[2] ?? '' }));
  const defines =
    language === 'python'
      ? [new RegExp(`^\\s*(?:async\\s+)?def\\s+${name}\\s*\\(`)]
      : definitionPatterns(language, name, language === 'go' ? outer : undefined);
  const opens =
    language === 'python'
      ? new RegExp(`^\\s*class\\s+${outer ?? ''}\\b`)
      : outer && language !== 'go'
        ? containerPattern(language, outer)
        : undefined;
  const container = outer && opens ? hits.find((h) => opens.test(h.text)) : undefined;
  const definitions = hits.filter((h) => defines.some((p) => p.test(h.text)));
  const found = definitions.find((h) => !container || h.line > container.line) ?? definitions[0] ?? hits[0];
  return found?.line ?? 1;
}
