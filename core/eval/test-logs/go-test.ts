import type { TestLogParser, TestStatus } from '../test-log';
import { plainLines, recordWorst } from './common';

/** `--- PASS: TestX/sub (0.00s)`, indented for subtests; a test's unended output may precede it. */
const RESULT = /--- (PASS|FAIL|SKIP): (\S+) \(/;
/** A package's closing line: `ok  	example.com/m/pkg	0.01s`, `FAIL	example.com/m/pkg [build failed]`. */
const PACKAGE = /^(?:ok {2}|FAIL)\t(\S+)/;

const STATUS: Record<string, TestStatus> = { PASS: 'PASSED', FAIL: 'FAILED', SKIP: 'SKIPPED' };

/**
 * `go test -v`. Tests are named by package and test, `example.com/m/pkg.TestX/sub`: two packages
 * often have a test of the same name, and the package always prints its import path. Its closing
 * line comes after its tests (the go command prints one package's output at a time), so the
 * tests seen since the last closing line belong to the next one.
 */
export const goTestParser: TestLogParser = {
  name: 'go',
  reportFlags: '-v',
  // go test selects packages, not files: the package folders of the test patch's files (a
  // testdata folder belongs to the package above it).
  selectFiles: (files) => [
    ...new Set(
      files.map((file) => {
        const testdata = /^(?:(.*?)\/)?testdata\//.exec(file);
        const dir = testdata ? (testdata[1] ?? '') : file.replace(/\/?[^/]*$/, '');
        return dir === '' ? '.' : `./${dir}`;
      }),
    ),
  ],
  parse(log) {
    const results = new Map<string, TestStatus>();
    let unclaimed: Array<[string, TestStatus]> = [];
    for (const line of plainLines(log)) {
      const result = RESULT.exec(line);
      if (result?.[1] && result[2]) {
        unclaimed.push([result[2], STATUS[result[1]]!]);
        continue;
      }
      const closing = PACKAGE.exec(line);
      if (closing?.[1]) {
        for (const [test, status] of unclaimed) recordWorst(results, `${closing[1]}.${test}`, status);
        unclaimed = [];
      }
    }
    // A log cut short (a timeout): its last package never closed; its tests keep their bare names.
    for (const [test, status] of unclaimed) recordWorst(results, test, status);
    return results;
  },
};
