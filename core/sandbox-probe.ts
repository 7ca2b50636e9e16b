/**
 * What the harness looks at in a sandbox after a command that may have hit one of its limits,
 * and the lines it adds to the agent's observation. The probe (a shell script the harness runs
 * in the container as root, so that its counters in /run/sera are out of the agent's reach)
 * prints one fact per line; reading it is pure.
 */

/** The cgroup counters (v2 or v1), the previous reading, and the usage of /repo and /tmp. */
export const PROBE_SCRIPT = [
  'cg=/sys/fs/cgroup',
  'if [ -f $cg/memory.events ]; then mem=$cg/memory.events; pev=$cg/pids.events; pcur=$cg/pids.current;',
  'else mem=$cg/memory/memory.oom_control; pev=$cg/pids/pids.events; pcur=$cg/pids/pids.current; fi',
  `oom=$(awk '$1=="oom_kill"{print $2}' $mem 2>/dev/null); hits=$(awk '$1=="max"{print $2}' $pev 2>/dev/null)`,
  'echo "now ${oom:-0} ${hits:-0} $(cat $pcur 2>/dev/null || echo 0)"',
  'echo "before $(cat /run/sera/counters 2>/dev/null || echo 0 0)"',
  'echo "${oom:-0} ${hits:-0}" > /run/sera/counters',
  `df -kP /repo /tmp 2>/dev/null | awk 'NR>1{print "bytes", $6, $2, $3}'`,
  `df -iP /repo /tmp 2>/dev/null | awk 'NR>1{print "files", $6, $2, $3}'`,
].join('\n');

/** Output that suggests a limit was met, for commands that still exit 0 (a fork bomb does). */
const LIMIT_SIGNS =
  /Resource temporarily unavailable|No space left on device|Cannot allocate memory|File size limit exceeded|Disk quota exceeded|Killed/;

/** Output of a command whose forks failed: the process limit is met. */
export function forkFailed(output: string): boolean {
  return /fork: (retry: )?Resource temporarily unavailable/.test(output);
}

/** Exit 153 is 128 + SIGXFSZ (the per-file cap); 137 is 128 + SIGKILL (the OOM killer, among others). */
export function shouldProbe(exitCode: number, output: string): boolean {
  return exitCode !== 0 || LIMIT_SIGNS.test(output);
}

export interface Usage {
  mount: string;
  total: number;
  used: number;
}

export interface ProbeReading {
  oomKills: number;
  pidsLimitHits: number;
  processes: number;
  before: { oomKills: number; pidsLimitHits: number };
  bytes: Usage[];
  files: Usage[];
}

export function parseProbe(text: string): ProbeReading {
  const reading: ProbeReading = {
    oomKills: 0,
    pidsLimitHits: 0,
    processes: 0,
    before: { oomKills: 0, pidsLimitHits: 0 },
    bytes: [],
    files: [],
  };
  for (const line of text.split('\n')) {
    const [kind, ...rest] = line.trim().split(/\s+/);
    const numbers = rest.map(Number);
    if (kind === 'now') {
      [reading.oomKills = 0, reading.pidsLimitHits = 0, reading.processes = 0] = numbers;
    } else if (kind === 'before') {
      reading.before = { oomKills: numbers[0] || 0, pidsLimitHits: numbers[1] || 0 };
    } else if ((kind === 'bytes' || kind === 'files') && rest.length === 3) {
      const usage = { mount: rest[0]!, total: Number(rest[1]), used: Number(rest[2]) };
      if (Number.isFinite(usage.total) && Number.isFinite(usage.used)) reading[kind].push(usage);
    }
  }
  return reading;
}

export interface LimitsInForce {
  memoryMb?: number;
  pids?: number;
  fileMb?: number;
}

/** A mount counts as full within 2 % of its size (tmpfs keeps a little back for its own use). */
const isFull = (u: Usage): boolean => u.total > 0 && u.total - u.used <= Math.max(1, u.total * 0.02);

const LIMIT_NAME: Record<string, { bytes: string; files: string }> = {
  '/repo': { bytes: 'limits.diskMb', files: 'limits.inodes' },
  '/tmp': { bytes: 'limits.scratchMb', files: 'limits.inodes' },
};

export interface ProbeVerdict {
  notes: string[];
  /** The process limit was met: every process the agent left running must be stopped. */
  stopProcesses: boolean;
}

/**
 * The `[sandbox]` lines for the agent: one per limit this command met. No reading means the probe
 * could not even start, which only a sandbox with every process slot taken does.
 */
export function probeVerdict(
  probed: ProbeReading | undefined,
  limits: LimitsInForce,
  exitCode: number,
  output: string,
): ProbeVerdict {
  const notes: string[] = [];
  const reading = probed ?? parseProbe('');
  for (const usage of reading.bytes) {
    const name = LIMIT_NAME[usage.mount];
    if (name && isFull(usage))
      notes.push(
        `[sandbox] disk limit reached: ${usage.mount} holds ${Math.round(usage.used / 1024)} of ${Math.round(usage.total / 1024)} MB (${name.bytes}); delete files to go on`,
      );
  }
  for (const usage of reading.files) {
    const name = LIMIT_NAME[usage.mount];
    if (name && isFull(usage))
      notes.push(
        `[sandbox] file-count limit reached: ${usage.mount} holds ${usage.used} of ${usage.total} files (${name.files}); delete files to go on`,
      );
  }
  if (limits.fileMb !== undefined && (exitCode === 153 || /File size limit exceeded/.test(output)))
    notes.push(`[sandbox] a file reached the per-file size cap of ${limits.fileMb} MB (limits.fileMb)`);
  if (reading.oomKills > reading.before.oomKills)
    notes.push(
      `[sandbox] out of memory: a process was killed (limits.memoryMb = ${limits.memoryMb ?? '?'} MB)`,
    );
  const stopProcesses =
    probed === undefined ||
    reading.pidsLimitHits > reading.before.pidsLimitHits ||
    (limits.pids !== undefined && reading.processes >= limits.pids - 2);
  if (stopProcesses)
    notes.push(
      `[sandbox] process limit reached (limits.pids = ${limits.pids ?? '?'}): every process the agent left running was stopped`,
    );
  return { notes, stopProcesses };
}

/** The observation's text with the notes after it. */
export function withNotes(text: string, notes: readonly string[]): string {
  return notes.length === 0 ? text : `${text}\n${notes.join('\n')}`;
}

/** The writable usage line the diff command prints first, in kB. */
export const USAGE_LINE = 'sera-writable';
