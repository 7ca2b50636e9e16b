import { describe, expect, it } from 'vitest';
import { changedLines, softVerify } from '../../core/soft-verify';

const header = 'diff --git a/m.py b/m.py\nindex 1..2 100644\n--- a/m.py\n+++ b/m.py\n@@ -1,4 +1,4 @@\n';

describe('changedLines', () => {
  it('keeps signed lines with their whitespace, drops headers and blank changes', () => {
    const patch = `${header} def f():\n-    return 1\n+    return 2\n+\n+   \n-\tx = 1\n`;
    expect(changedLines(patch)).toEqual(['-    return 1', '+    return 2', '-\tx = 1']);
  });
});

describe('softVerify', () => {
  const p1 = `${header}-    a = 1\n+    a = 2\n+    b = 2\n`;

  it('is 1 for an identical change and accepts it at threshold 1', () => {
    expect(softVerify(p1, p1, 1)).toMatchObject({ recall: 1, verified: true, matched: 3 });
  });

  it('is a multiset recall over the whole patch', () => {
    const twice = `${header}+x\n+x\n`;
    const once = `${header}+x\n+y\n`;
    expect(softVerify(twice, once, 0.5)).toMatchObject({ recall: 0.5, matched: 1, verified: true });
    expect(softVerify(once, twice, 1)).toMatchObject({
      recall: 0.5,
      verified: false,
      reason: 'recall_below_threshold',
    });
  });

  it('counts whitespace differences as different lines and extra lines in P2 as free', () => {
    const p2 = `${header}-    a = 1\n+  a = 2\n+    b = 2\n+    c = 3\n`;
    expect(softVerify(p1, p2, 1)).toMatchObject({ recall: 2 / 3, verified: false });
    expect(softVerify(p1, p2, 0.5).verified).toBe(true);
  });

  it('never verifies an empty rollout-1 patch, even at threshold 0', () => {
    expect(softVerify('', p1, 0)).toMatchObject({
      recall: undefined,
      verified: false,
      reason: 'empty_rollout1_patch',
    });
  });
});
