import { describe, expect, it } from 'vitest';
import { patchStats } from '../../core/patch-stats';

const patch = `diff --git a/a.py b/a.py
index 1..2 100644
--- a/a.py
+++ b/a.py
@@ -1,3 +1,3 @@
 def f():
-    return 1
+    return 2
 
diff --git a/b.py b/b.py
new file mode 100644
--- /dev/null
+++ b/b.py
@@ -0,0 +1,2 @@
+x = 1
+y = 2
`;

describe('patchStats', () => {
  it('counts files and added and deleted lines, not the file headers', () => {
    expect(patchStats(patch)).toEqual({ filesChanged: 2, linesAdded: 3, linesDeleted: 1 });
  });

  it('is zero for an empty patch', () => {
    expect(patchStats('\n')).toEqual({ filesChanged: 0, linesAdded: 0, linesDeleted: 0 });
  });
});
