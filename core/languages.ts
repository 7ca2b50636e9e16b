/**
 * The source languages the function index reads: their names, their files, the paths that are
 * tests, vendored or built code in each, and which of them make up a repository. Pure: callers
 * pass paths and text, this module reads nothing.
 */

export const SOURCE_LANGUAGES = ['python', 'javascript', 'typescript', 'go', 'rust', 'java'] as const;
export type SourceLanguage = (typeof SOURCE_LANGUAGES)[number];

interface LanguageRules {
  /** How a person writes the name. */
  title: string;
  extensions: readonly string[];
  /** Paths of tests, on top of the rules every language shares. */
  tests: readonly RegExp[];
  /** Vendored, built or declaration-only files, on top of the shared rules. */
  notSource: readonly RegExp[];
}

const dir = (...names: string[]): RegExp => new RegExp(`(^|/)(${names.join('|')})/`);

/** eslint.config.mjs, vite.config.ts, .prettierrc.cjs: settings of tools, not the project's code. */
const JS_TOOL_CONFIG = [/(^|\/)[^/]+\.config\.[cm]?[jt]s$/, /(^|\/)\.[^/]+rc\.[cm]?[jt]s$/];

export const LANGUAGE_RULES: Record<SourceLanguage, LanguageRules> = {
  python: {
    title: 'Python',
    extensions: ['.py'],
    tests: [/(^|\/)test_[^/]*\.py$/, /_test\.py$/, /(^|\/)conftest\.py$/],
    notSource: [/_pb2(_grpc)?\.py$/],
  },
  javascript: {
    title: 'JavaScript',
    extensions: ['.js', '.mjs', '.cjs', '.jsx'],
    tests: [/\.(test|spec)\.[cm]?jsx?$/, dir('__tests__', '__mocks__', 'e2e')],
    notSource: [/\.min\.js$/, /\.bundle\.js$/, dir('dist', 'build', 'coverage'), ...JS_TOOL_CONFIG],
  },
  typescript: {
    title: 'TypeScript',
    extensions: ['.ts', '.tsx', '.mts', '.cts'],
    tests: [/\.(test|spec)\.[cm]?tsx?$/, dir('__tests__', '__mocks__', 'e2e')],
    notSource: [/\.d\.[cm]?ts$/, dir('dist', 'build', 'coverage'), ...JS_TOOL_CONFIG],
  },
  go: {
    title: 'Go',
    extensions: ['.go'],
    tests: [/_test\.go$/, dir('testdata')],
    notSource: [/\.pb(\.gw)?\.go$/],
  },
  rust: {
    title: 'Rust',
    extensions: ['.rs'],
    tests: [dir('benches')],
    notSource: [dir('target')],
  },
  java: {
    title: 'Java',
    extensions: ['.java'],
    tests: [dir('src/test'), /[a-z0-9]Tests?\.java$/],
    notSource: [dir('target', 'build')],
  },
};

/** Tests in any language: a tests folder, test_x or x_test files. */
const SHARED_TESTS = /(^|\/)(tests?|testing)(\/|$)|(^|\/)test_[^/]*$|_tests?\.[a-z]+$/i;
/** Other projects' code kept in the tree, and tool folders (.github, .husky …). */
const SHARED_NOT_SOURCE = /(^|\/)(node_modules|vendor|_vendor|third_party|third-party)\/|(^|\/)\.[^/]+\//;

/** The language of a file by its extension, if the index reads it. */
export function languageOfPath(file: string): SourceLanguage | undefined {
  return SOURCE_LANGUAGES.find((language) =>
    LANGUAGE_RULES[language].extensions.some((ext) => file.endsWith(ext)),
  );
}

/** Files whose path says they are tests are never sampled (the method changes non-test code). */
export function isTestPath(file: string): boolean {
  if (SHARED_TESTS.test(file)) return true;
  const language = languageOfPath(file);
  return language !== undefined && LANGUAGE_RULES[language].tests.some((rule) => rule.test(file));
}

/** Vendored, built, minified or declaration-only files: not the repository's own code to change. */
export function isVendoredPath(file: string): boolean {
  if (SHARED_NOT_SOURCE.test(file)) return true;
  const language = languageOfPath(file);
  return language !== undefined && LANGUAGE_RULES[language].notSource.some((rule) => rule.test(file));
}

/** The language of a file the index should read, or undefined for tests, vendored and other files. */
export function indexedLanguageOf(file: string): SourceLanguage | undefined {
  if (isTestPath(file) || isVendoredPath(file)) return undefined;
  return languageOfPath(file);
}

const GENERATED_HEAD_LINES = 10;
const GENERATED = /^\s*(\/\/|#|\/?\*+)\s*(Code generated .*DO NOT EDIT|@generated\b)/;

/** Generated code says so in its first lines (Go's `// Code generated … DO NOT EDIT.`, `@generated`). */
export function isGeneratedSource(source: string): boolean {
  return source.split('\n', GENERATED_HEAD_LINES).some((line) => GENERATED.test(line));
}

/** Share of a repository's source files a language needs to count as one of its languages. */
export const LANGUAGE_SHARE = 0.1;

/**
 * The languages that make up a real share of the files (tests and vendored code left out), most
 * files first; ties in the order of SOURCE_LANGUAGES.
 */
export function detectLanguages(files: readonly string[], minShare = LANGUAGE_SHARE): SourceLanguage[] {
  const counts = new Map<SourceLanguage, number>();
  for (const file of files) {
    const language = indexedLanguageOf(file);
    if (language) counts.set(language, (counts.get(language) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  return SOURCE_LANGUAGES.filter(
    (language) => (counts.get(language) ?? 0) >= Math.max(1, total * minShare),
  ).sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0));
}

export function isSourceLanguage(name: string): name is SourceLanguage {
  return (SOURCE_LANGUAGES as readonly string[]).includes(name);
}

/** "TypeScript", "Go and Python", "Go, Python and Rust"; names it does not know as given. */
export function languageTitles(languages: readonly string[]): string {
  const titles = [...new Set(languages.map((l) => (isSourceLanguage(l) ? LANGUAGE_RULES[l].title : l)))];
  if (titles.length <= 1) return titles[0] ?? '';
  return `${titles.slice(0, -1).join(', ')} and ${titles.at(-1)}`;
}
