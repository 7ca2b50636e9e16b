import { describe, expect, it } from 'vitest';
import { trainerPython as python } from '../support/trainer-python';

describe("the trainer's watch on its worker (trainer/watch.py)", () => {
  it('counts a zombie as gone: a worker its parent never reaped is dead', () => {
    const out = python(`
import os, time
from watch import process_gone
child = os.fork()
if child == 0:
    os._exit(0)
time.sleep(0.3)
zombie = process_gone(child)   # exited, not reaped: os.kill(pid, 0) still succeeds
itself = process_gone(os.getpid())
os.waitpid(child, 0)
print(zombie, itself, process_gone(child))
`);
    expect(out).toBe('True False True');
  });

  it('a trainer watching a zombie worker exits with the orphaned status', () => {
    const out = python(`
import os, subprocess, sys, time
child = os.fork()
if child == 0:
    os._exit(0)
time.sleep(0.3)
watcher = "from watch import exit_with_parent; import time; exit_with_parent(); time.sleep(20)"
started = time.time()
status = subprocess.run([sys.executable, "-c", watcher], env={**os.environ, "SERA_WATCH_PID": str(child)}).returncode
print(status, time.time() - started < 10)
os.waitpid(child, 0)
`);
    expect(out).toBe('4 True');
  });
});
