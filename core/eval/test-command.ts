import { shellQuote } from '../shell-quote';
import type { TestScope } from '../environment-recipe';
import { testLogParser } from './test-log';

/** The test fields of an environment that decide the command (the scope defaults to the test patch's files). */
export interface TestCommandFields {
  testCommand: string;
  testRunner: string;
  testScope?: TestScope;
}

/**
 * The command that runs an instance's tests: the environment's command, its runner's report
 * flags, then, with scope `patch-files`, the arguments that select the test patch's files (for go
 * test their packages; cargo cannot select, so it runs everything). Scope `all` runs the whole
 * command, so PASS_TO_PASS spans the whole suite.
 */
export function testCommandLine(environment: TestCommandFields, testFiles: readonly string[]): string {
  const parser = testLogParser(environment.testRunner);
  const scope = environment.testScope ?? 'patch-files';
  const selected = scope === 'all' ? [] : parser.selectFiles(testFiles);
  return [environment.testCommand, parser.reportFlags, ...selected.map(shellQuote)]
    .filter((part) => part !== '')
    .join(' ');
}
