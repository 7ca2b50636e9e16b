import { describe, expect, it } from 'vitest';
import { parseInstances, parsePredictions, testFilesOf } from '../../core/eval/instances';

const instance = {
  instance_id: 'demo__lib-1',
  repo: 'demo/lib',
  base_commit: 'abc123',
  patch: 'diff --git a/lib.py b/lib.py\n',
  test_patch:
    'diff --git a/tests/test_lib.py b/tests/test_lib.py\n--- a/tests/test_lib.py\n+++ b/tests/test_lib.py\n',
  problem_statement: 'lib.f returns the wrong value',
  FAIL_TO_PASS: ['tests/test_lib.py::test_f'],
  PASS_TO_PASS: ['tests/test_lib.py::test_g'],
};

describe('parseInstances', () => {
  it('reads JSONL and a JSON array alike, filling the optional fields', () => {
    const jsonl = parseInstances(`${JSON.stringify(instance)}\n\n`);
    const array = parseInstances(JSON.stringify([instance]));
    expect(jsonl).toEqual(array);
    expect(jsonl[0]).toMatchObject({
      hints_text: '',
      version: '',
      FAIL_TO_PASS: ['tests/test_lib.py::test_f'],
    });
  });

  it('accepts test lists as JSON-encoded strings, as the public datasets ship them', () => {
    const [parsed] = parseInstances(
      JSON.stringify({ ...instance, FAIL_TO_PASS: '["t::a", "t::b"]', PASS_TO_PASS: '[]', version: 1.2 }),
    );
    expect(parsed?.FAIL_TO_PASS).toEqual(['t::a', 't::b']);
    expect(parsed?.PASS_TO_PASS).toEqual([]);
    expect(parsed?.version).toBe('1.2');
  });

  it('names the instance and the field that is missing or wrong', () => {
    const { base_commit: _dropped, ...missing } = instance;
    const bad = [JSON.stringify(instance), JSON.stringify({ ...missing, instance_id: 'demo__lib-2' })].join(
      '\n',
    );
    expect(() => parseInstances(bad, 'set.jsonl')).toThrow(/set\.jsonl: line 2 \(demo__lib-2\): base_commit/);
    expect(() => parseInstances(JSON.stringify([{ ...instance, FAIL_TO_PASS: 'not a list' }]))).toThrow(
      /instance 1 \(demo__lib-1\): FAIL_TO_PASS/,
    );
  });

  it('rejects lines that are not JSON, duplicate ids and an empty file', () => {
    expect(() => parseInstances(`${JSON.stringify(instance)}\n{oops`)).toThrow(/line 2: not a JSON object/);
    expect(() => parseInstances(`${JSON.stringify(instance)}\n${JSON.stringify(instance)}`)).toThrow(
      /line 2 \(demo__lib-1\): instance_id appears twice/,
    );
    expect(() => parseInstances('\n')).toThrow(/holds no instances/);
  });
});

describe('parsePredictions', () => {
  const prediction = { instance_id: 'demo__lib-1', model_name_or_path: 'm', model_patch: 'diff' };
  it('reads JSONL, a JSON array and the older object keyed by instance id', () => {
    expect(parsePredictions(JSON.stringify(prediction))).toEqual([prediction]);
    expect(parsePredictions(JSON.stringify([prediction, { ...prediction, instance_id: 'x' }]))).toHaveLength(
      2,
    );
    expect(
      parsePredictions(JSON.stringify({ 'demo__lib-1': { model_name_or_path: 'm', model_patch: 'diff' } })),
    ).toEqual([prediction]);
  });

  it('takes a null patch as no patch and rejects a record without an instance id', () => {
    expect(parsePredictions(JSON.stringify({ ...prediction, model_patch: null }))[0]?.model_patch).toBe('');
    expect(() => parsePredictions(JSON.stringify({ model_patch: 'x', instance_id: 3 }))).toThrow(
      /instance_id/,
    );
  });
});

describe('testFilesOf', () => {
  it('lists the files a test patch changes, once each', () => {
    const patch = `${instance.test_patch}--- a/tests/test_lib.py\n+++ b/tests/test_lib.py\n+++ b/tests/test_other.py\n`;
    expect(testFilesOf(patch)).toEqual(['tests/test_lib.py', 'tests/test_other.py']);
  });
});
