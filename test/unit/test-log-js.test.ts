import { describe, expect, it } from 'vitest';
import { jestParser, vitestParser } from '../../core/eval/test-log';

// Real logs (paths made /repo) of one suite run by vitest 3.2 and by jest 29: a pass, a failure,
// a skipped and a todo test, nested describe blocks, a test whose name holds the separator, and a
// file that fails to load (its tests are never named, so they count as not passed).
const vitestVerboseColour = `
\x1b[1m\x1b[46m RUN \x1b[49m\x1b[22m \x1b[36mv3.2.4 \x1b[39m\x1b[90m/repo\x1b[39m

 \x1b[32m✓\x1b[39m test/a.test.ts\x1b[2m > \x1b[22mmath\x1b[2m > \x1b[22madds\x1b[32m 1\x1b[2mms\x1b[22m\x1b[39m
 \x1b[31m×\x1b[39m test/a.test.ts\x1b[2m > \x1b[22mmath\x1b[2m > \x1b[22mfails\x1b[32m 6\x1b[2mms\x1b[22m\x1b[39m
\x1b[31m   → expected 1 to be 2 // Object.is equality\x1b[39m
 \x1b[2m\x1b[90m↓\x1b[39m\x1b[22m test/a.test.ts\x1b[2m > \x1b[22mmath\x1b[2m > \x1b[22mskipped one
 \x1b[2m\x1b[90m↓\x1b[39m\x1b[22m test/a.test.ts\x1b[2m > \x1b[22mmath\x1b[2m > \x1b[22mtodo one
 \x1b[32m✓\x1b[39m test/a.test.ts\x1b[2m > \x1b[22mmath\x1b[2m > \x1b[22mnested\x1b[2m > \x1b[22mdeep > with arrow\x1b[32m 0\x1b[2mms\x1b[22m\x1b[39m
 \x1b[32m✓\x1b[39m test/a.test.ts\x1b[2m > \x1b[22mtop level\x1b[32m 0\x1b[2mms\x1b[22m\x1b[39m
 \x1b[32m✓\x1b[39m test/a.test.ts\x1b[2m > \x1b[22mexpected to fail\x1b[32m 1\x1b[2mms\x1b[22m\x1b[39m
 \x1b[32m✓\x1b[39m test/b.test.ts\x1b[2m > \x1b[22madds\x1b[32m 1\x1b[2mms\x1b[22m\x1b[39m

\x1b[31m⎯⎯⎯⎯⎯⎯\x1b[39m\x1b[1m\x1b[41m Failed Suites 1 \x1b[49m\x1b[22m\x1b[31m⎯⎯⎯⎯⎯⎯⎯\x1b[39m

\x1b[41m\x1b[1m FAIL \x1b[22m\x1b[49m test/broken.test.ts\x1b[2m [ test/broken.test.ts ]\x1b[22m
\x1b[31m\x1b[1mError\x1b[22m: Cannot find module './missing' imported from '/repo/test/broken.test.ts'\x1b[39m
\x1b[36m \x1b[2m❯\x1b[22m test/broken.test.ts:\x1b[2m2:1\x1b[22m\x1b[39m
    \x1b[90m  1| \x1b[39m\x1b[35mimport\x1b[39m { it } \x1b[35mfrom\x1b[39m \x1b[32m'vitest'\x1b[39m\x1b[33m;\x1b[39m
    \x1b[90m  2| \x1b[39m\x1b[35mimport\x1b[39m \x1b[32m'./missing'\x1b[39m\x1b[33m;\x1b[39m
    \x1b[90m   | \x1b[39m\x1b[31m^\x1b[39m
    \x1b[90m  3| \x1b[39m\x1b[34mit\x1b[39m(\x1b[32m'never'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m {})\x1b[33m;\x1b[39m
    \x1b[90m  4| \x1b[39m

\x1b[31m\x1b[2m⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯\x1b[22m\x1b[39m
\x1b[31m\x1b[1mSerialized Error:\x1b[22m\x1b[39m \x1b[90m{ code: 'ERR_MODULE_NOT_FOUND' }\x1b[39m
\x1b[31m\x1b[1mCaused by: Error\x1b[22m: Failed to load url ./missing (resolved id: ./missing) in /repo/test/broken.test.ts. Does the file exist?\x1b[39m
\x1b[90m \x1b[2m❯\x1b[22m loadAndTransform node_modules/vite/dist/node/chunks/config.js:\x1b[2m22907:33\x1b[22m\x1b[39m

\x1b[31m\x1b[2m⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/2]⎯\x1b[22m\x1b[39m


\x1b[31m⎯⎯⎯⎯⎯⎯⎯\x1b[39m\x1b[1m\x1b[41m Failed Tests 1 \x1b[49m\x1b[22m\x1b[31m⎯⎯⎯⎯⎯⎯⎯\x1b[39m

\x1b[41m\x1b[1m FAIL \x1b[22m\x1b[49m test/a.test.ts\x1b[2m > \x1b[22mmath\x1b[2m > \x1b[22mfails
\x1b[31m\x1b[1mAssertionError\x1b[22m: expected 1 to be 2 // Object.is equality\x1b[39m

\x1b[32m- Expected\x1b[39m
\x1b[31m+ Received\x1b[39m

\x1b[32m- 2\x1b[39m
\x1b[31m+ 1\x1b[39m

\x1b[36m \x1b[2m❯\x1b[22m test/a.test.ts:\x1b[2m4:33\x1b[22m\x1b[39m
    \x1b[90m  2| \x1b[39m\x1b[34mdescribe\x1b[39m(\x1b[32m'math'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m {
    \x1b[90m  3| \x1b[39m  \x1b[34mit\x1b[39m(\x1b[32m'adds'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m { \x1b[34mexpect\x1b[39m(\x1b[34m1\x1b[39m \x1b[33m+\x1b[39m \x1b[34m1\x1b[39m)\x1b[33m.\x1b[39m\x1b[34mtoBe\x1b[39m(\x1b[34m2\x1b[39m)\x1b[33m;\x1b[39m })\x1b[33m;\x1b[39m
    \x1b[90m  4| \x1b[39m  \x1b[34mit\x1b[39m(\x1b[32m'fails'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m { \x1b[34mexpect\x1b[39m(\x1b[34m1\x1b[39m)\x1b[33m.\x1b[39m\x1b[34mtoBe\x1b[39m(\x1b[34m2\x1b[39m)\x1b[33m;\x1b[39m })\x1b[33m;\x1b[39m
    \x1b[90m   | \x1b[39m                                \x1b[31m^\x1b[39m
    \x1b[90m  5| \x1b[39m  it\x1b[33m.\x1b[39m\x1b[34mskip\x1b[39m(\x1b[32m'skipped one'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m {})\x1b[33m;\x1b[39m
    \x1b[90m  6| \x1b[39m  it\x1b[33m.\x1b[39m\x1b[34mtodo\x1b[39m(\x1b[32m'todo one'\x1b[39m)\x1b[33m;\x1b[39m

\x1b[31m\x1b[2m⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[2/2]⎯\x1b[22m\x1b[39m


\x1b[2m Test Files \x1b[22m \x1b[1m\x1b[31m2 failed\x1b[39m\x1b[22m\x1b[2m | \x1b[22m\x1b[1m\x1b[32m1 passed\x1b[39m\x1b[22m\x1b[90m (3)\x1b[39m
\x1b[2m      Tests \x1b[22m \x1b[1m\x1b[31m1 failed\x1b[39m\x1b[22m\x1b[2m | \x1b[22m\x1b[1m\x1b[32m5 passed\x1b[39m\x1b[22m\x1b[2m | \x1b[22m\x1b[33m1 skipped\x1b[39m\x1b[2m | \x1b[22m\x1b[90m1 todo\x1b[39m\x1b[90m (8)\x1b[39m
\x1b[2m   Start at \x1b[22m 08:29:48
\x1b[2m   Duration \x1b[22m 1.11s\x1b[2m (transform 99ms, setup 0ms, collect 79ms, tests 13ms, environment 1ms, prepare 347ms)\x1b[22m

`;

const vitestDefault = `
 RUN  v3.2.4 /repo

 ❯ test/a.test.ts (7 tests | 1 failed | 2 skipped) 11ms
   ✓ math > adds 1ms
   × math > fails 6ms
     → expected 1 to be 2 // Object.is equality
   ↓ math > skipped one
   ↓ math > todo one
   ✓ math > nested > deep > with arrow 0ms
   ✓ top level 0ms
   ✓ expected to fail 1ms
 ✓ test/b.test.ts (1 test) 2ms

⎯⎯⎯⎯⎯⎯ Failed Suites 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  test/broken.test.ts [ test/broken.test.ts ]
Error: Cannot find module './missing' imported from '/repo/test/broken.test.ts'
 ❯ test/broken.test.ts:2:1
      1| import { it } from 'vitest';
      2| import './missing';
       | ^
      3| it('never', () => {});
      4| 

Caused by: Error: Failed to load url ./missing (resolved id: ./missing) in /repo/test/broken.test.ts. Does the file exist?
 ❯ loadAndTransform node_modules/vite/dist/node/chunks/config.js:22907:33

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/2]⎯


⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  test/a.test.ts > math > fails
AssertionError: expected 1 to be 2 // Object.is equality

\x1b[32m- Expected\x1b[39m
\x1b[31m+ Received\x1b[39m

\x1b[32m- 2\x1b[39m
\x1b[31m+ 1\x1b[39m

 ❯ test/a.test.ts:4:33
      2| describe('math', () => {
      3|   it('adds', () => { expect(1 + 1).toBe(2); });
      4|   it('fails', () => { expect(1).toBe(2); });
       |                                 ^
      5|   it.skip('skipped one', () => {});
      6|   it.todo('todo one');

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[2/2]⎯


 Test Files  2 failed | 1 passed (3)
      Tests  1 failed | 5 passed | 1 skipped | 1 todo (8)
   Start at  08:29:52
   Duration  776ms (transform 55ms, setup 0ms, collect 47ms, tests 12ms, environment 1ms, prepare 209ms)

`;

const jestVerboseColour = `\x1b[0m\x1b[7m\x1b[1m\x1b[31m FAIL \x1b[39m\x1b[22m\x1b[27m\x1b[0m \x1b[2mtest/\x1b[22m\x1b[1ma.test.js\x1b[22m
  \x1b[32m✓\x1b[39m \x1b[2mtop level (1 ms)\x1b[22m
  math
    \x1b[32m✓\x1b[39m \x1b[2madds (1 ms)\x1b[22m
    \x1b[31m✕\x1b[39m \x1b[2mfails (1 ms)\x1b[22m
    \x1b[33m○\x1b[39m \x1b[2mskipped skipped one\x1b[22m
    \x1b[35m✎\x1b[39m \x1b[2mtodo todo one\x1b[22m
    nested
      \x1b[32m✓\x1b[39m \x1b[2mdeep › with arrow\x1b[22m

\x1b[1m\x1b[31m  \x1b[1m● \x1b[22m\x1b[1mmath › fails\x1b[39m\x1b[22m

    \x1b[2mexpect(\x1b[22m\x1b[31mreceived\x1b[39m\x1b[2m).\x1b[22mtoBe\x1b[2m(\x1b[22m\x1b[32mexpected\x1b[39m\x1b[2m) // Object.is equality\x1b[22m

    Expected: \x1b[32m2\x1b[39m
    Received: \x1b[31m1\x1b[39m
\x1b[2m\x1b[22m
\x1b[2m    \x1b[0m \x1b[90m 1 |\x1b[39m describe(\x1b[32m'math'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m {\x1b[22m
\x1b[2m     \x1b[90m 2 |\x1b[39m   test(\x1b[32m'adds'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m { expect(\x1b[35m1\x1b[39m \x1b[33m+\x1b[39m \x1b[35m1\x1b[39m)\x1b[33m.\x1b[39mtoBe(\x1b[35m2\x1b[39m)\x1b[33m;\x1b[39m })\x1b[33m;\x1b[39m\x1b[22m
\x1b[2m    \x1b[31m\x1b[1m>\x1b[22m\x1b[2m\x1b[39m\x1b[90m 3 |\x1b[39m   test(\x1b[32m'fails'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m { expect(\x1b[35m1\x1b[39m)\x1b[33m.\x1b[39mtoBe(\x1b[35m2\x1b[39m)\x1b[33m;\x1b[39m })\x1b[33m;\x1b[39m\x1b[22m
\x1b[2m     \x1b[90m   |\x1b[39m                                   \x1b[31m\x1b[1m^\x1b[22m\x1b[2m\x1b[39m\x1b[22m
\x1b[2m     \x1b[90m 4 |\x1b[39m   test\x1b[33m.\x1b[39mskip(\x1b[32m'skipped one'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m {})\x1b[33m;\x1b[39m\x1b[22m
\x1b[2m     \x1b[90m 5 |\x1b[39m   test\x1b[33m.\x1b[39mtodo(\x1b[32m'todo one'\x1b[39m)\x1b[33m;\x1b[39m\x1b[22m
\x1b[2m     \x1b[90m 6 |\x1b[39m   describe(\x1b[32m'nested'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m {\x1b[0m\x1b[22m
\x1b[2m\x1b[22m
\x1b[2m      \x1b[2mat Object.toBe (\x1b[22m\x1b[2m\x1b[0m\x1b[36mtest/a.test.js\x1b[39m\x1b[0m\x1b[2m:3:35)\x1b[22m\x1b[2m\x1b[22m

\x1b[0m\x1b[7m\x1b[1m\x1b[31m FAIL \x1b[39m\x1b[22m\x1b[27m\x1b[0m \x1b[2mtest/\x1b[22m\x1b[1mbroken.test.js\x1b[22m
  \x1b[1m● \x1b[22mTest suite failed to run

    Cannot find module './missing' from 'test/broken.test.js'

    \x1b[0m\x1b[31m\x1b[1m>\x1b[22m\x1b[39m\x1b[90m 1 |\x1b[39m require(\x1b[32m'./missing'\x1b[39m)\x1b[33m;\x1b[39m
     \x1b[90m   |\x1b[39m                     \x1b[31m\x1b[1m^\x1b[22m\x1b[39m
     \x1b[90m 2 |\x1b[39m test(\x1b[32m'never'\x1b[39m\x1b[33m,\x1b[39m () \x1b[33m=>\x1b[39m {})\x1b[33m;\x1b[39m
     \x1b[90m 3 |\x1b[39m\x1b[0m

      \x1b[2mat Resolver._throwModNotFoundError (\x1b[22mnode_modules/jest-resolve/build/resolver.js\x1b[2m:427:11)\x1b[22m
      \x1b[2mat Object.<anonymous> (\x1b[22m\x1b[0m\x1b[36mtest/broken.test.js\x1b[39m\x1b[0m\x1b[2m:1:21)\x1b[22m

\x1b[0m\x1b[7m\x1b[1m\x1b[32m PASS \x1b[39m\x1b[22m\x1b[27m\x1b[0m \x1b[2mtest/\x1b[22m\x1b[1mb.test.js\x1b[22m
  \x1b[32m✓\x1b[39m \x1b[2madds\x1b[22m

\x1b[1mTest Suites: \x1b[22m\x1b[1m\x1b[31m2 failed\x1b[39m\x1b[22m, \x1b[1m\x1b[32m1 passed\x1b[39m\x1b[22m, 3 total
\x1b[1mTests:       \x1b[22m\x1b[1m\x1b[31m1 failed\x1b[39m\x1b[22m, \x1b[1m\x1b[33m1 skipped\x1b[39m\x1b[22m, \x1b[1m\x1b[35m1 todo\x1b[39m\x1b[22m, \x1b[1m\x1b[32m4 passed\x1b[39m\x1b[22m, 7 total
\x1b[1mSnapshots:   \x1b[22m0 total
\x1b[1mTime:\x1b[22m        0.429 s
\x1b[2mRan all test suites\x1b[22m\x1b[2m.\x1b[22m
`;

const jestDefault = `FAIL test/a.test.js
  ● math › fails

    expect(received).toBe(expected) // Object.is equality

    Expected: 2
    Received: 1

      1 | describe('math', () => {
      2 |   test('adds', () => { expect(1 + 1).toBe(2); });
    > 3 |   test('fails', () => { expect(1).toBe(2); });
        |                                   ^
      4 |   test.skip('skipped one', () => {});
      5 |   test.todo('todo one');
      6 |   describe('nested', () => {

      at Object.toBe (test/a.test.js:3:35)

PASS test/b.test.js
FAIL test/broken.test.js
  ● Test suite failed to run

    Cannot find module './missing' from 'test/broken.test.js'

    > 1 | require('./missing');
        |                     ^
      2 | test('never', () => {});
      3 |

      at Resolver._throwModNotFoundError (node_modules/jest-resolve/build/resolver.js:427:11)
      at Object.<anonymous> (test/broken.test.js:1:21)

Test Suites: 2 failed, 1 passed, 3 total
Tests:       1 failed, 1 skipped, 1 todo, 4 passed, 7 total
Snapshots:   0 total
Time:        0.295 s, estimated 1 s
Ran all test suites.
`;

describe('vitest log parser', () => {
  const fileA = {
    'test/a.test.ts > math > adds': 'PASSED',
    'test/a.test.ts > math > fails': 'FAILED',
    'test/a.test.ts > math > skipped one': 'SKIPPED',
    'test/a.test.ts > math > todo one': 'SKIPPED',
    'test/a.test.ts > math > nested > deep > with arrow': 'PASSED',
    'test/a.test.ts > top level': 'PASSED',
    'test/a.test.ts > expected to fail': 'PASSED',
  };

  it('reads the verbose reporter’s coloured lines as file > suite > name, without durations', () => {
    expect(Object.fromEntries(vitestParser.parse(vitestVerboseColour))).toEqual({
      ...fileA,
      'test/b.test.ts > adds': 'PASSED',
    });
  });

  it('gives the default reporter’s tests of a failed file the same names', () => {
    // The passing file b is only counted there, which is why the verbose reporter is asked for.
    expect(Object.fromEntries(vitestParser.parse(vitestDefault))).toEqual(fileA);
  });

  it('asks for the verbose reporter and runs the test patch’s script files', () => {
    expect(vitestParser.reportFlags).toBe('--reporter=verbose');
    expect(vitestParser.selectFiles(['test/a.test.ts', 'test/__snapshots__/a.test.ts.snap'])).toEqual([
      'test/a.test.ts',
    ]);
  });
});

describe('jest log parser', () => {
  it('reads the --verbose tree under each file as file > describe > name', () => {
    expect(Object.fromEntries(jestParser.parse(jestVerboseColour))).toEqual({
      'test/a.test.js > top level': 'PASSED',
      'test/a.test.js > math > adds': 'PASSED',
      'test/a.test.js > math > fails': 'FAILED',
      'test/a.test.js > math > skipped one': 'SKIPPED',
      'test/a.test.js > math > todo one': 'SKIPPED',
      'test/a.test.js > math > nested > deep › with arrow': 'PASSED',
      'test/b.test.js > adds': 'PASSED',
    });
  });

  it('still names the failures of a run without --verbose', () => {
    expect(Object.fromEntries(jestParser.parse(jestDefault))).toEqual({
      'test/a.test.js > math > fails': 'FAILED',
    });
  });

  it('does not take a console block printed before a file for describe blocks', () => {
    const log = [
      '  console.log',
      '    hello',
      '',
      '      at Object.log (test/c.test.js:2:34)',
      '',
      'PASS test/c.test.js (5.12 s)',
      '  logs',
      '    ✓ prints (13 ms)',
      '',
    ].join('\n');
    expect(Object.fromEntries(jestParser.parse(log))).toEqual({ 'test/c.test.js > logs > prints': 'PASSED' });
  });

  it('names a test as vitest does, so a project keeps its test lists across the two', () => {
    const jest = jestParser.parse('PASS test/a.test.ts\n  math\n    ✓ adds (1 ms)\n');
    const vitest = vitestParser.parse(' ✓ test/a.test.ts > math > adds 1ms\n');
    expect([...jest.keys()]).toEqual([...vitest.keys()]);
  });
});
