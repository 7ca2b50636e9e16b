import { describe, expect, it } from 'vitest';
import { cargoParser, goTestParser } from '../../core/eval/test-log';

// A real log of `go test -v ./...` (go 1.23, path made /repo) over five packages: subtests (their
// results indented under the parent's), a skip, a parallel test, the same test name in two
// packages, a panic, a package that does not build, one without tests.
const goLog = `# example.com/calc/broken [example.com/calc/broken.test]
broken/broken_test.go:5:33: undefined: Missing
FAIL	example.com/calc/broken [build failed]
=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestDiv
=== RUN   TestDiv/by_zero
    calc_test.go:14: Div(1, 0) has no error
=== RUN   TestDiv/exact
--- FAIL: TestDiv (0.00s)
    --- FAIL: TestDiv/by_zero (0.00s)
    --- PASS: TestDiv/exact (0.00s)
=== RUN   TestNew
--- PASS: TestNew (0.00s)
=== RUN   TestNetwork
    calc_test.go:26: needs network
--- SKIP: TestNetwork (0.00s)
=== RUN   TestParallel
=== PAUSE TestParallel
=== CONT  TestParallel
--- PASS: TestParallel (0.00s)
FAIL
FAIL	example.com/calc	0.004s
?   	example.com/calc/cmd/calc	[no test files]
=== RUN   TestFormat
--- PASS: TestFormat (0.00s)
PASS
ok  	example.com/calc/format	0.003s
=== RUN   TestNew
    parse_test.go:7: New() = nil
--- FAIL: TestNew (0.00s)
=== RUN   TestParse
--- PASS: TestParse (0.00s)
=== RUN   TestPanics
--- FAIL: TestPanics (0.00s)
panic: boom [recovered]
	panic: boom

goroutine 8 [running]:
testing.tRunner.func1.2({0x52d1a0, 0x58cdb0})
	/usr/local/go/src/testing/testing.go:1632 +0x230
testing.tRunner.func1()
	/usr/local/go/src/testing/testing.go:1635 +0x35e
panic({0x52d1a0?, 0x58cdb0?})
	/usr/local/go/src/runtime/panic.go:791 +0x132
example.com/calc/parse.TestPanics(0xc000090820?)
	/repo/parse/parse_test.go:13 +0x25
testing.tRunner(0xc000090820, 0x564130)
	/usr/local/go/src/testing/testing.go:1690 +0xf4
created by testing.(*T).Run in goroutine 1
	/usr/local/go/src/testing/testing.go:1743 +0x390
FAIL	example.com/calc/parse	0.006s
FAIL
`;

describe('go test log parser', () => {
  it('names every test and subtest by its package, so the same name in two packages stays apart', () => {
    expect(Object.fromEntries(goTestParser.parse(goLog))).toEqual({
      'example.com/calc.TestAdd': 'PASSED',
      'example.com/calc.TestDiv': 'FAILED',
      'example.com/calc.TestDiv/by_zero': 'FAILED',
      'example.com/calc.TestDiv/exact': 'PASSED',
      'example.com/calc.TestNew': 'PASSED',
      'example.com/calc.TestNetwork': 'SKIPPED',
      'example.com/calc.TestParallel': 'PASSED',
      'example.com/calc/format.TestFormat': 'PASSED',
      'example.com/calc/parse.TestNew': 'FAILED',
      'example.com/calc/parse.TestParse': 'PASSED',
      'example.com/calc/parse.TestPanics': 'FAILED',
    });
  });

  it('keeps the tests of a log cut before its package’s closing line, by bare name', () => {
    const cut = '=== RUN   TestSlow\n--- PASS: TestFast (0.00s)\n=== RUN   TestSlow\n';
    expect(Object.fromEntries(goTestParser.parse(cut))).toEqual({ TestFast: 'PASSED' });
  });

  it('asks for -v and runs the packages of the test patch’s files (testdata belongs to its package)', () => {
    expect(goTestParser.reportFlags).toBe('-v');
    expect(
      goTestParser.selectFiles([
        'calc_test.go',
        'parse/parse_test.go',
        'parse/testdata/golden/a.txt',
        'testdata/x.json',
        'internal/lex/lex_test.go',
      ]),
    ).toEqual(['.', './parse', './internal/lex']);
  });
});

// A real log of `cargo test --no-fail-fast` (cargo 1.95, path made /repo): unit tests with a
// failure, ignored tests with and without a reason, should_panic, an integration test file with a
// name the unit tests also have, and a doctest.
const cargoLog = `   Compiling demo v0.1.0 (/repo)
    Finished \`test\` profile [unoptimized + debuginfo] target(s) in 1.25s
     Running unittests src/lib.rs (target/debug/deps/demo-8348ca7a80742723)

running 6 tests
test tests::inner::deep ... ok
test tests::it_works ... ok
test tests::net ... ignored, needs network
test tests::it_fails ... FAILED
test tests::panics - should panic ... ok
test tests::slow ... ignored

failures:

---- tests::it_fails stdout ----

thread 'tests::it_fails' (19935) panicked at src/lib.rs:14:21:
assertion \`left == right\` failed
  left: 4
 right: 5
stack backtrace:
   0: __rustc::rust_begin_unwind
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/panicking.rs:689:5
   1: core::panicking::panic_fmt
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:80:14
   2: core::panicking::assert_failed_inner
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:439:17
   3: core::panicking::assert_failed::<u64, u64>
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:394:5
   4: demo::tests::it_fails
             at ./src/lib.rs:14:21
   5: demo::tests::it_fails::{{closure}}
             at ./src/lib.rs:14:18
   6: core::ops::function::FnOnce::call_once
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs:250:5
   7: <fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs:250:5
note: Some details are omitted, run with \`RUST_BACKTRACE=full\` for a verbose backtrace.


failures:
    tests::it_fails

test result: FAILED. 3 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.13s

error: test failed, to rerun pass \`--lib\`
     Running tests/api.rs (target/debug/deps/api-0de6da0f84bbd512)

running 1 test
test it_works ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests demo

running 1 test
test src/lib.rs - add (line 3) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

all doctests ran in 0.40s; merged doctests compilation took 0.39s
error: 1 target failed:
    \`--lib\`
`;

describe('cargo test log parser', () => {
  it('reads every binary’s tests; a name in two binaries keeps the worse outcome', () => {
    expect(Object.fromEntries(cargoParser.parse(cargoLog))).toEqual({
      'tests::inner::deep': 'PASSED',
      'tests::it_works': 'PASSED',
      'tests::net': 'SKIPPED',
      'tests::it_fails': 'FAILED',
      'tests::panics': 'PASSED',
      'tests::slow': 'SKIPPED',
      it_works: 'PASSED',
      'src/lib.rs - add': 'PASSED',
    });
    const twice = 'test it_works ... ok\ntest it_works ... \x1b[31mFAILED\x1b[0m\ntest it_works ... ok\n';
    expect(Object.fromEntries(cargoParser.parse(twice))).toEqual({ it_works: 'FAILED' });
  });

  it('runs the whole suite with --no-fail-fast: a file cannot select a test in a source file', () => {
    expect(cargoParser.reportFlags).toBe('--no-fail-fast');
    expect(cargoParser.selectFiles(['tests/api.rs', 'src/lib.rs'])).toEqual([]);
  });
});
