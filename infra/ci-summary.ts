// `.ci/run`'s closing count: reads vitest's JSON report and test/declared-skips.json, prints
// "N passed, N failed, N skipped (declared)" and exits 1 when a test failed, a file failed, or a
// test was skipped without a declared reason. Run: `npx tsx infra/ci-summary.ts`.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { repoRoot } from './paths';

/** A test that may be skipped, and why: a test's full name, or a describe block's (every test in it). */
export const DeclaredSkipSchema = z.strictObject({
  /** The test file, relative to the repository root. */
  file: z.string().min(1),
  name: z.string().min(1),
  reason: z.string().min(1),
});
export type DeclaredSkip = z.output<typeof DeclaredSkipSchema>;
export const DeclaredSkipsSchema = z.strictObject({ skips: z.array(DeclaredSkipSchema) });

/** The parts of vitest's JSON report (`reporters: ['json']`) the count needs. */
const ReportSchema = z.object({
  testResults: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      message: z.string().optional(),
      assertionResults: z.array(
        z.object({
          fullName: z.string(),
          status: z.string(),
          failureMessages: z.array(z.string()).nullish(),
        }),
      ),
    }),
  ),
});
export type TestReport = z.input<typeof ReportSchema>;

/** Statuses vitest gives a test that did not run: `it.skip`, `skipIf`, `ctx.skip()`, `it.todo`, another test's `.only`. */
const NOT_RUN = new Set(['skipped', 'pending', 'todo', 'disabled']);

export interface CiSummary {
  passed: number;
  failed: number;
  declaredSkips: number;
  undeclaredSkips: number;
  /** One line per failed file, failed test or undeclared skip, saying which and why. */
  problems: string[];
  /** The closing line: "448 passed, 0 failed, 1 skipped (declared)". */
  line: string;
  ok: boolean;
}

function isDeclared(
  file: string,
  fullName: string,
  declared: readonly DeclaredSkip[],
): DeclaredSkip | undefined {
  return declared.find((d) => d.file === file && (fullName === d.name || fullName.startsWith(`${d.name} `)));
}

/**
 * Counts a report. A skipped test in a file that failed counts as failed, declared or not: a
 * file whose set-up (beforeAll, an import) failed reports its tests as skipped, and a refused
 * `.only` leaves the file's other tests skipped.
 */
export function summarizeTestReport(
  report: TestReport,
  declared: readonly DeclaredSkip[],
  root: string,
): CiSummary {
  const parsed = ReportSchema.parse(report);
  let passed = 0;
  let failed = 0;
  let declaredSkips = 0;
  let undeclaredSkips = 0;
  const problems: string[] = [];
  for (const result of parsed.testResults) {
    const file = path.relative(root, result.name).split(path.sep).join('/');
    const fileFailed = result.status !== 'passed';
    let failedHere = 0;
    for (const test of result.assertionResults) {
      if (test.status === 'passed') passed += 1;
      else if (test.status === 'failed') {
        failedHere += 1;
        const only = (test.failureMessages ?? []).some((m) => m.includes('Unexpected .only modifier'));
        problems.push(`failed: ${file} > ${test.fullName}${only ? ' (.only is refused: remove it)' : ''}`);
      } else if (NOT_RUN.has(test.status) && fileFailed) {
        failedHere += 1;
        problems.push(`did not run, its file failed: ${file} > ${test.fullName}`);
      } else if (NOT_RUN.has(test.status) && isDeclared(file, test.fullName, declared)) {
        declaredSkips += 1;
      } else {
        undeclaredSkips += 1;
        problems.push(
          `skipped (${test.status}) without a declared reason: ${file} > ${test.fullName} (declare it in test/declared-skips.json or make it run)`,
        );
      }
    }
    // A file that failed with no failed test of its own (an import error, an afterAll): one failure.
    if (fileFailed && failedHere === 0) {
      failedHere = 1;
      problems.push(`file failed: ${file}${result.message ? `: ${result.message.split('\n')[0]}` : ''}`);
    }
    failed += failedHere;
  }
  const skipped =
    undeclaredSkips > 0
      ? `${declaredSkips + undeclaredSkips} skipped (${declaredSkips} declared, ${undeclaredSkips} undeclared)`
      : `${declaredSkips} skipped (declared)`;
  return {
    passed,
    failed,
    declaredSkips,
    undeclaredSkips,
    problems,
    line: `${passed} passed, ${failed} failed, ${skipped}`,
    ok: failed === 0 && undeclaredSkips === 0,
  };
}

export function readDeclaredSkips(file: string): DeclaredSkip[] {
  if (!existsSync(file)) return [];
  const parsed = DeclaredSkipsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data.skips;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const reportFile = path.join(repoRoot, '.sera', 'test-report.json');
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as TestReport;
  const summary = summarizeTestReport(
    report,
    readDeclaredSkips(path.join(repoRoot, 'test', 'declared-skips.json')),
    repoRoot,
  );
  for (const problem of summary.problems) console.log(problem);
  console.log(summary.line);
  process.exit(summary.ok ? 0 : 1);
}
