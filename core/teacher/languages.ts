import { LANGUAGE_RULES, languageOfPath, SOURCE_LANGUAGES, type SourceLanguage } from '../languages';

/**
 * The languages the offline teacher can change, told by a file's extension, and the shell
 * commands it uses on them. Python keeps the commands it always had; the rest are new.
 */
/** The index's languages (core/languages.ts): the teacher changes code in every one of them. */
export const TEACHER_LANGUAGES = SOURCE_LANGUAGES;
export type TeacherLanguage = SourceLanguage;
export type BraceLanguage = Exclude<TeacherLanguage, 'python'>;

/** The language of a file; anything unknown is read as Python, the teacher's first language. */
export function languageOf(file: string): TeacherLanguage {
  return languageOfPath(file.toLowerCase()) ?? 'python';
}

export function includeGlobs(language: TeacherLanguage): string {
  return LANGUAGE_RULES[language].extensions.map((ext) => `--include=*${ext}`).join(' ');
}

/** Printed by a syntax check that passed, or that could not run for want of a checker. */
export const SYNTAX_OK = 'syntax ok';
export const SYNTAX_UNCHECKED = 'syntax not checked';

/** Does the file still parse? Only with what the sandbox already has; a missing checker passes. */
export function syntaxCheckCommand(language: BraceLanguage, file: string): string {
  const missing = (tool: string): string => `echo "${SYNTAX_UNCHECKED}: no ${tool} here"`;
  const ok = `echo "${SYNTAX_OK}"`;
  switch (language) {
    case 'go':
      // gofmt parses the file; it exits non-zero only when it cannot (formatting aside).
      return `if command -v gofmt >/dev/null; then gofmt -l ${file} >/dev/null && ${ok}; else ${missing('gofmt')}; fi`;
    case 'javascript':
      // node --check cannot read JSX.
      return file.endsWith('.jsx')
        ? missing('JSX parser')
        : `if command -v node >/dev/null; then node --check ${file} && ${ok}; else ${missing('node')}; fi`;
    case 'typescript':
      // The repository's own TypeScript, when installed, reports syntax errors without type-checking.
      return [
        `if command -v node >/dev/null; then node -e '`,
        `let ts; try { ts = require(require.resolve("typescript", { paths: [process.cwd()] })); }`,
        ` catch { console.log("${SYNTAX_UNCHECKED}: no typescript here"); process.exit(0); }`,
        ` const f = process.argv[1];`,
        ` const d = ts.transpileModule(require("fs").readFileSync(f, "utf8"), { fileName: f, reportDiagnostics: true }).diagnostics ?? [];`,
        ` for (const x of d) console.log(ts.flattenDiagnosticMessageText(x.messageText, "\\n"));`,
        ` if (d.length === 0) console.log("${SYNTAX_OK}"); else process.exit(1);`,
        `' ${file}; else ${missing('node')}; fi`,
      ].join('');
    case 'rust':
      return `if command -v rustfmt >/dev/null; then rustfmt --edition 2021 --emit stdout ${file} >/dev/null && ${ok}; else ${missing('rustfmt')}; fi`;
    case 'java':
      // javac needs the project's class path to say anything; no parse-only checker ships with the JDK.
      return missing('Java parser');
  }
}

export function syntaxCheckPassed(observation: string): boolean {
  return observation.includes(SYNTAX_OK) || observation.includes(SYNTAX_UNCHECKED);
}
