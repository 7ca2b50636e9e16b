/**
 * Signals a process group started with `detached: true` (its leader's pid is the group id): the
 * process and every child it made. A group already gone is not an error.
 */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
