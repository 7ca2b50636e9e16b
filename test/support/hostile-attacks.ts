/**
 * The hostile suite's script: the bash commands a scripted agent runs, one a turn, in a real
 * rollout (test/integration/hostile-sandbox.test.ts). Each step says what the agent must see in
 * its observation (how the sandbox stopped it) and what it must never see: every attack prints
 * `ESCAPED: …` only when it got through. Cleanup and check steps run between the attacks, as an
 * agent would go on after a failure.
 */

/** The sandbox limits the hostile rollout runs under: small, so every limit is reached quickly. */
export const HOSTILE_LIMITS = {
  cpus: 1,
  memoryMb: 256,
  pids: 128,
  diskMb: 64,
  scratchMb: 32,
  inodes: 5000,
  fileMb: 16,
} as const;

/** The rollout's command timeout, in seconds. */
export const HOSTILE_COMMAND_TIMEOUT_S = 10;

export interface HostileTarget {
  /** The port the host's Temporal server listens on. */
  temporalPort: number;
  /** The host's address on Docker's default bridge (e.g. 172.17.0.1). */
  bridgeGateway: string;
  /** A file on the host that no sandbox may read, and the secret it holds. */
  hostSecretPath: string;
  hostSecret: string;
}

export interface HostileStep {
  name: string;
  kind: 'attack' | 'cleanup' | 'check';
  command: string;
  /** Every pattern must match the observation. */
  mustSee: RegExp[];
  /** No pattern may match the observation (besides the `ESCAPED` mark, checked for every step). */
  mustNotSee?: RegExp[];
  /** What stops the attack (the docs' table). */
  stoppedBy?: string;
  /**
   * Text in the command line of the processes the step starts, to look for on the host once the
   * run is over (processes of a container are processes of the host).
   */
  hostTrace?: string;
}

/** Printed by an attack only when it got through. */
export const ESCAPED = /ESCAPED/;

const L = HOSTILE_LIMITS;

/** Writes files of `blockMb` MB into `dir` until a write fails, up to four times `limitMb`. */
function filler(dir: string, limitMb: number, blockMb: number): string {
  const files = Math.ceil((4 * limitMb) / blockMb);
  return [
    `for i in $(seq 1 ${files}); do`,
    `  dd if=/dev/zero of=${dir}/fill-$i bs=1M count=${blockMb} status=none || exit 1`,
    'done',
    `echo "ESCAPED: wrote ${files * blockMb} MB into ${dir}"`,
  ].join('\n');
}

/** Lists the container's processes; a step before it must have left none of its own. */
function processCheck(name: string, leftover: RegExp): HostileStep {
  return {
    name,
    kind: 'check',
    command: 'ps -eo pid=,user=,args=',
    // The container can still start processes, and its own main process is there.
    mustSee: [/sleep infinity/],
    mustNotSee: [leftover],
  };
}

export function hostileSteps(target: HostileTarget): HostileStep[] {
  const { temporalPort, bridgeGateway, hostSecretPath, hostSecret } = target;
  return [
    {
      name: 'fork bomb',
      kind: 'attack',
      // Forks without end in the background; the script then fails, as a broken test run would.
      command: 'bomb() { bomb | bomb & }; bomb; sleep 5; exit 1',
      mustSee: [/\[sandbox\] process limit reached/],
      stoppedBy: `pids limit (limits.pids = ${L.pids}); the harness stops what is left`,
      hostTrace: 'bomb() {',
    },
    processCheck('no fork bomb left running', /bomb/),
    {
      name: 'memory hog',
      kind: 'attack',
      command: [
        "python3 -c '",
        'held = []',
        `for i in range(${(4 * L.memoryMb) / 16}):`,
        '    held.append(b"x" * (16 << 20))',
        '    print("holding", 16 * (i + 1), "MB", flush=True)',
        'print("ESCAPED: held", 16 * len(held), "MB")',
        "'",
      ].join('\n'),
      mustSee: [/\[sandbox\] out of memory/],
      stoppedBy: `memory cgroup (limits.memoryMb = ${L.memoryMb}): the kernel kills the process`,
      hostTrace: 'held.append',
    },
    {
      name: 'disk filler in /repo',
      kind: 'attack',
      command: filler('/repo', L.diskMb, 8),
      mustSee: [/No space left on device/, /\[sandbox\] disk limit reached: \/repo/],
      stoppedBy: `/repo is a tmpfs of limits.diskMb = ${L.diskMb} MB`,
      hostTrace: 'of=/repo/fill-',
    },
    {
      name: 'clean up the /repo filler',
      kind: 'cleanup',
      command: 'rm -f /repo/fill-* && echo removed',
      mustSee: [/^removed$/m],
    },
    {
      name: 'disk filler in /tmp',
      kind: 'attack',
      command: filler('/tmp', L.scratchMb, 4),
      mustSee: [/No space left on device/, /\[sandbox\] disk limit reached: \/tmp/],
      stoppedBy: `/tmp is a tmpfs of limits.scratchMb = ${L.scratchMb} MB`,
      hostTrace: 'of=/tmp/fill-',
    },
    {
      name: 'clean up the /tmp filler',
      kind: 'cleanup',
      command: 'rm -f /tmp/fill-* && echo removed',
      mustSee: [/^removed$/m],
    },
    {
      name: 'inode filler',
      kind: 'attack',
      command: [
        'mkdir -p /tmp/inodes && cd /tmp/inodes || exit 1',
        `for i in $(seq 1 ${4 * L.inodes}); do : > f$i || exit 1; done`,
        `echo "ESCAPED: made ${4 * L.inodes} files"`,
      ].join('\n'),
      mustSee: [/No space left on device/, /\[sandbox\] file-count limit reached: \/tmp/],
      stoppedBy: `/tmp holds limits.inodes = ${L.inodes} files (tmpfs nr_inodes)`,
    },
    {
      name: 'clean up the inode filler',
      kind: 'cleanup',
      command: 'rm -rf /tmp/inodes && echo removed',
      mustSee: [/^removed$/m],
    },
    {
      name: 'one huge file',
      kind: 'attack',
      // Twice the per-file cap, in a /repo that would hold it: only the per-file cap can stop it.
      command: `dd if=/dev/zero of=/repo/huge bs=1M count=${2 * L.fileMb} status=none && echo "ESCAPED: wrote a ${2 * L.fileMb} MB file"`,
      mustSee: [/File size limit exceeded/, /\[sandbox\] a file reached the per-file size cap/],
      stoppedBy: `ulimit -f (limits.fileMb = ${L.fileMb}): SIGXFSZ, exit 153`,
      hostTrace: 'of=/repo/huge',
    },
    {
      name: 'clean up the huge file',
      kind: 'cleanup',
      command:
        'rm -f /repo/huge && git status --porcelain && test -z "$(git status --porcelain)" && echo clean',
      mustSee: [/^clean$/m],
    },
    {
      name: 'process that ignores SIGTERM',
      kind: 'attack',
      command: "trap '' TERM; sleep 1000",
      mustSee: [new RegExp(`The command was killed after ${HOSTILE_COMMAND_TIMEOUT_S} s\\.`)],
      stoppedBy: `command timeout (${HOSTILE_COMMAND_TIMEOUT_S} s): TERM to the process group, KILL 2 s later`,
      hostTrace: 'sleep 1000',
    },
    processCheck('no SIGTERM-proof process left running', /sleep 1000/),
    {
      name: "TCP to the host's Temporal port on loopback",
      kind: 'attack',
      command: `exec 3<>/dev/tcp/127.0.0.1/${temporalPort} && echo "ESCAPED: connected to 127.0.0.1:${temporalPort}"`,
      // The container's loopback is its own: nothing listens there.
      mustSee: [/Connection refused|Network is unreachable/],
      stoppedBy: "no network (NetworkMode none): the container's loopback is its own",
    },
    {
      name: "TCP to the host's Temporal port over Docker's bridge",
      kind: 'attack',
      command: `exec 3<>/dev/tcp/${bridgeGateway}/${temporalPort} && echo "ESCAPED: connected to ${bridgeGateway}:${temporalPort}"`,
      mustSee: [/Network is unreachable/],
      stoppedBy: 'no network (NetworkMode none): no route',
    },
    {
      name: 'TCP to a public address',
      kind: 'attack',
      command:
        'python3 -c \'import socket; socket.create_connection(("1.1.1.1", 443), timeout=5); print("ESCAPED: reached 1.1.1.1:443")\'',
      mustSee: [/Network is unreachable/],
      stoppedBy: 'no network (NetworkMode none): no route',
    },
    {
      name: 'the Docker socket',
      kind: 'attack',
      command: [
        'for sock in /var/run/docker.sock /run/docker.sock; do',
        '  python3 -c \'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print("ESCAPED: connected to", sys.argv[1])\' "$sock"',
        'done',
      ].join('\n'),
      mustSee: [/No such file or directory/],
      stoppedBy: 'no host mounts: the socket is not in the container',
    },
    {
      name: "the host's files through /proc/*/root",
      kind: 'attack',
      command: [
        `cat ${hostSecretPath}`,
        `cat /proc/1/root${hostSecretPath}`,
        `for p in /proc/[0-9]*; do cat "$p/root${hostSecretPath}" 2>/dev/null && echo "ESCAPED: read it through $p"; done`,
        'exit 1',
      ].join('\n'),
      mustSee: [/No such file or directory|Permission denied/],
      mustNotSee: [new RegExp(hostSecret)],
      stoppedBy: "own mount and pid namespaces; pid 1 is root's, /proc/1/root is closed to the agent",
    },
    {
      name: "pid 1's environment",
      kind: 'attack',
      command: `tr '\\0' '\\n' < /proc/1/environ && echo "ESCAPED: read /proc/1/environ"`,
      mustSee: [/Permission denied/],
      mustNotSee: [/^HOSTNAME=/m, /^PATH=/m],
      stoppedBy: 'the agent is not root: /proc/1 belongs to root',
    },
    {
      name: 'kernel memory through /proc/kcore',
      kind: 'attack',
      // The count on a line of its own: head's complaint, on stderr, may arrive in the middle.
      command: 'bytes=$(head -c 4096 /proc/kcore 2>/dev/null | wc -c); echo "read $bytes bytes"',
      // Docker masks it (an empty file) or the kernel has none: nothing is read.
      mustSee: [/read 0 bytes/],
      mustNotSee: [/read 4096 bytes/],
      stoppedBy: "Docker's masked paths (or no /proc/kcore at all)",
    },
    {
      name: 'write to /proc/sysrq-trigger',
      kind: 'attack',
      // `h` only prints help to the kernel log, should it ever get through.
      command: 'echo h > /proc/sysrq-trigger && echo "ESCAPED: wrote /proc/sysrq-trigger"',
      mustSee: [/Read-only file system|Permission denied|No such file or directory/],
      stoppedBy: "Docker's read-only /proc paths; not root",
    },
    {
      name: 'raise its own limits through /sys/fs/cgroup',
      kind: 'attack',
      command: [
        'ls /sys/fs/cgroup',
        'for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do',
        '  [ -e "$f" ] && echo 999999999 > "$f" && echo "ESCAPED: wrote $f"',
        'done',
        'exit 1',
      ].join('\n'),
      mustSee: [/Read-only file system|Permission denied/],
      stoppedBy: '/sys is read-only; not root',
    },
    {
      name: 'mount a filesystem',
      kind: 'attack',
      command: 'mount -t tmpfs none /mnt && echo "ESCAPED: mounted /mnt"',
      mustSee: [/must be superuser|permission denied|Operation not permitted/i],
      stoppedBy: 'no CAP_SYS_ADMIN; not root',
    },
    {
      name: 'mount in a new user namespace',
      kind: 'attack',
      command: 'unshare -Urm mount -t tmpfs none /mnt && echo "ESCAPED: mounted /mnt in a user namespace"',
      mustSee: [/Operation not permitted/],
      stoppedBy: "Docker's seccomp profile refuses new namespaces without CAP_SYS_ADMIN",
    },
    {
      name: 'ptrace of pid 1',
      kind: 'attack',
      command: [
        "python3 -c '",
        'import ctypes, os',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'PTRACE_ATTACH, PTRACE_DETACH = 16, 17',
        'if libc.ptrace(PTRACE_ATTACH, 1, 0, 0) == 0:',
        '    libc.ptrace(PTRACE_DETACH, 1, 0, 0)',
        '    print("ESCAPED: attached to pid 1")',
        'else:',
        '    raise SystemExit("ptrace: " + os.strerror(ctypes.get_errno()))',
        "'",
      ].join('\n'),
      mustSee: [/ptrace: Operation not permitted/],
      stoppedBy: 'not root and no CAP_SYS_PTRACE',
    },
    {
      name: "read pid 1's memory",
      kind: 'attack',
      command: 'dd if=/proc/1/mem of=/dev/null bs=1 count=1 && echo "ESCAPED: opened /proc/1/mem"',
      mustSee: [/Permission denied/],
      stoppedBy: 'not root: ptrace access to pid 1 is refused',
    },
    {
      name: 'write outside /repo',
      kind: 'attack',
      command: [
        'for f in /etc/hostile /usr/lib/hostile /root/hostile /hostile; do',
        '  touch "$f" && echo "ESCAPED: wrote $f"',
        'done',
        'exit 1',
      ].join('\n'),
      mustSee: [
        /'\/etc\/hostile': Read-only file system/,
        /'\/usr\/lib\/hostile': Read-only file system/,
        /'\/root\/hostile': (Read-only file system|Permission denied)/,
        /'\/hostile': Read-only file system/,
      ],
      stoppedBy: 'read-only root filesystem; /root is closed to the agent',
    },
    {
      name: "the harness's records",
      kind: 'attack',
      // A forged tool result or limits counter would mislead the harness about this rollout.
      command: [
        'ls /run/sera 2>&1',
        'echo forged > /run/sera/counters && echo "ESCAPED: wrote the counters"',
        'echo "{}" > /run/sera/sera-tool-t99-0.json && echo "ESCAPED: forged a tool result"',
        'exit 1',
      ].join('\n'),
      mustSee: [
        /cannot open directory '\/run\/sera': Permission denied/,
        /\/run\/sera\/counters: Permission denied/,
        /\/run\/sera\/sera-tool-t99-0.json: Permission denied/,
      ],
      stoppedBy: "/run/sera is root's (mode 0711), its files root's and private",
    },
    {
      name: 'the repository is as it was',
      kind: 'check',
      command: 'git status --porcelain && test -z "$(git status --porcelain)" && echo clean',
      mustSee: [/^clean$/m],
    },
  ];
}

/** What a step's observation lacks or shows that it must not; empty when the step held. */
export function stepProblems(step: HostileStep, observation: string): string[] {
  const problems: string[] = [];
  for (const pattern of step.mustSee)
    if (!pattern.test(observation)) problems.push(`${step.name}: expected ${String(pattern)}`);
  for (const pattern of [ESCAPED, ...(step.mustNotSee ?? [])])
    if (pattern.test(observation)) problems.push(`${step.name}: must not show ${String(pattern)}`);
  return problems;
}
