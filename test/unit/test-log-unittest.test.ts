import { describe, expect, it } from 'vitest';
import { unittestParser } from '../../core/eval/test-log';

// Real logs of `python -m unittest -v pkg/test_mod.py pkg/test_out.py` (paths made /repo): a
// docstring, output before the outcome, a failed subtest, a class that fails to set up, a skipped
// class. Python 3.10 names a test `test_x (pkg.mod.Class)`, 3.11+ `test_x (pkg.mod.Class.test_x)`.
const python310 = `ERROR
test_add (pkg.test_mod.Calc) ... ok
test_doc (pkg.test_mod.Calc)
Adds with a docstring. ... ok
test_errors (pkg.test_mod.Calc) ... ERROR
test_fails (pkg.test_mod.Calc) ... FAIL
test_prints (pkg.test_mod.Calc) ... some outputok
test_skipped (pkg.test_mod.Calc) ... skipped 'no numpy'
test_sub (pkg.test_mod.Calc) ... test_xfail (pkg.test_mod.Calc) ... expected failure
test_xpass (pkg.test_mod.Calc) ... unexpected success
test_newline (pkg.test_out.Out) ... hello
ok
test_sub_ok (pkg.test_out.Out) ... ok
test_a (pkg.test_out.Skipped) ... skipped 'whole class'

======================================================================
ERROR: setUpClass (pkg.test_mod.Broken)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 41, in setUpClass
    raise ValueError("setup")
ValueError: setup

======================================================================
ERROR: test_errors (pkg.test_mod.Calc)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 11, in test_errors
    raise RuntimeError("boom")
RuntimeError: boom

======================================================================
FAIL: test_fails (pkg.test_mod.Calc)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 8, in test_fails
    self.assertEqual(1, 2)
AssertionError: 1 != 2

======================================================================
FAIL: test_sub (pkg.test_mod.Calc) (i=2)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 36, in test_sub
    self.assertLess(i, 2)
AssertionError: 2 not less than 2

----------------------------------------------------------------------
Ran 12 tests in 0.001s

FAILED (failures=2, errors=2, skipped=2, expected failures=1, unexpected successes=1)
`;

const python312 = `setUpClass (pkg.test_mod.Broken) ... ERROR
test_add (pkg.test_mod.Calc.test_add) ... ok
test_doc (pkg.test_mod.Calc.test_doc)
Adds with a docstring. ... ok
test_errors (pkg.test_mod.Calc.test_errors) ... ERROR
test_fails (pkg.test_mod.Calc.test_fails) ... FAIL
test_prints (pkg.test_mod.Calc.test_prints) ... some outputok
test_skipped (pkg.test_mod.Calc.test_skipped) ... skipped 'no numpy'
test_sub (pkg.test_mod.Calc.test_sub) ... 
  test_sub (pkg.test_mod.Calc.test_sub) (i=2) ... FAIL
test_xfail (pkg.test_mod.Calc.test_xfail) ... expected failure
test_xpass (pkg.test_mod.Calc.test_xpass) ... unexpected success
test_newline (pkg.test_out.Out.test_newline) ... hello
ok
test_sub_ok (pkg.test_out.Out.test_sub_ok) ... ok
test_a (pkg.test_out.Skipped.test_a) ... skipped 'whole class'

======================================================================
ERROR: setUpClass (pkg.test_mod.Broken)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 41, in setUpClass
    raise ValueError("setup")
ValueError: setup

======================================================================
ERROR: test_errors (pkg.test_mod.Calc.test_errors)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 11, in test_errors
    raise RuntimeError("boom")
RuntimeError: boom

======================================================================
FAIL: test_fails (pkg.test_mod.Calc.test_fails)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 8, in test_fails
    self.assertEqual(1, 2)
AssertionError: 1 != 2

======================================================================
FAIL: test_sub (pkg.test_mod.Calc.test_sub) (i=2)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/repo/pkg/test_mod.py", line 36, in test_sub
    self.assertLess(i, 2)
AssertionError: 2 not less than 2

======================================================================
UNEXPECTED SUCCESS: test_xpass (pkg.test_mod.Calc.test_xpass)
----------------------------------------------------------------------
Ran 10 tests in 0.002s

FAILED (failures=2, errors=2, skipped=2, expected failures=1, unexpected successes=1)
`;

const expected = {
  'pkg.test_mod.Broken.setUpClass': 'ERROR',
  'pkg.test_mod.Calc.test_add': 'PASSED',
  'pkg.test_mod.Calc.test_doc': 'PASSED',
  'pkg.test_mod.Calc.test_errors': 'ERROR',
  'pkg.test_mod.Calc.test_fails': 'FAILED',
  'pkg.test_mod.Calc.test_prints': 'PASSED',
  'pkg.test_mod.Calc.test_skipped': 'SKIPPED',
  'pkg.test_mod.Calc.test_sub': 'FAILED',
  'pkg.test_mod.Calc.test_xfail': 'XFAIL',
  'pkg.test_mod.Calc.test_xpass': 'XPASS',
  'pkg.test_out.Out.test_newline': 'PASSED',
  'pkg.test_out.Out.test_sub_ok': 'PASSED',
  'pkg.test_out.Skipped.test_a': 'SKIPPED',
};

describe('unittest log parser', () => {
  it('reads every outcome of a Python 3.12 log, named pkg.mod.Class.test', () => {
    expect(Object.fromEntries(unittestParser.parse(python312))).toEqual(expected);
  });

  it('gives a Python 3.10 log the same names, the failed subtest from the failure section', () => {
    expect(Object.fromEntries(unittestParser.parse(python310))).toEqual(expected);
  });

  it('reads coloured outcomes and a module that fails to import', () => {
    const log = [
      'test_ok (tests.test_a.A.test_ok) ... \x1b[32mok\x1b[0m',
      'test_a (unittest.loader._FailedTest.test_a) ... ERROR',
    ].join('\n');
    expect(Object.fromEntries(unittestParser.parse(log))).toEqual({
      'tests.test_a.A.test_ok': 'PASSED',
      'unittest.loader._FailedTest.test_a': 'ERROR',
    });
  });

  it('runs the test patch’s Python files, by path', () => {
    expect(unittestParser.selectFiles(['tests/test_a.py', 'tests/data.json'])).toEqual(['tests/test_a.py']);
  });
});
