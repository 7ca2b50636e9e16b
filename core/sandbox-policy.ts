import { parseSandboxUser, type SandboxUser } from './sandbox-user';

/**
 * A sandbox's limits with every default filled in, as containers are made with them. /repo and
 * /tmp are tmpfs (bounded in bytes and in files on any host, with no special filesystem), and
 * tmpfs pages count against the container's memory: left out, their sizes are shares of the
 * memory limit, so the defaults always leave the processes room to run.
 */
export const DEFAULT_INODES = 200_000;
export const DEFAULT_FILE_MB = 512;
/** Memory left for the processes when /repo and /tmp are full. */
export const MEMORY_HEADROOM_MB = 128;
const DEFAULT_DISK_MB = 1024;
const DEFAULT_SCRATCH_MB = 256;

export interface SandboxLimitsRequest {
  cpus?: number;
  memoryMb?: number;
  pids?: number;
  diskMb?: number;
  scratchMb?: number;
  inodes?: number;
  fileMb?: number;
  user?: string;
}

export interface SandboxPolicy {
  cpus: number;
  memoryMb: number;
  pids: number;
  diskMb: number;
  scratchMb: number;
  inodes: number;
  fileMb: number;
  user: SandboxUser;
}

/** Sizes left out follow from the memory: 60 % of it for /repo, 20 % for /tmp, up to the defaults. */
export function writableSizes(limits: SandboxLimitsRequest): { diskMb: number; scratchMb: number } {
  const memoryMb = limits.memoryMb ?? 2048;
  const spare = Math.max(0, memoryMb - MEMORY_HEADROOM_MB);
  return {
    diskMb: limits.diskMb ?? Math.max(8, Math.min(DEFAULT_DISK_MB, Math.floor(spare * 0.6))),
    scratchMb: limits.scratchMb ?? Math.max(8, Math.min(DEFAULT_SCRATCH_MB, Math.floor(spare * 0.2))),
  };
}

/** Why the memory cannot hold the writable space the limits ask for; undefined when it can. */
export function writableSpaceProblem(limits: SandboxLimitsRequest): string | undefined {
  if (limits.diskMb === undefined && limits.scratchMb === undefined) return undefined;
  const memoryMb = limits.memoryMb ?? 2048;
  const { diskMb, scratchMb } = writableSizes(limits);
  if (diskMb + scratchMb + MEMORY_HEADROOM_MB <= memoryMb) return undefined;
  // Enough for any memory: a size left out grows with the memory, up to its default.
  const enough =
    (limits.diskMb ?? DEFAULT_DISK_MB) + (limits.scratchMb ?? DEFAULT_SCRATCH_MB) + MEMORY_HEADROOM_MB;
  return `${memoryMb} MB cannot hold the writable space (diskMb ${diskMb} + scratchMb ${scratchMb}, kept in memory) and ${MEMORY_HEADROOM_MB} MB to run in: raise memoryMb to ${enough} or lower diskMb`;
}

/** The policy a container is made with; limits from histories older than these fields get defaults. */
export function sandboxPolicy(limits: SandboxLimitsRequest): SandboxPolicy {
  const parsed = parseSandboxUser(limits.user ?? 'agent');
  if (!parsed.ok) throw new Error(`sandbox user: ${parsed.message}`);
  return {
    cpus: limits.cpus ?? 1,
    memoryMb: limits.memoryMb ?? 2048,
    pids: limits.pids ?? 512,
    ...writableSizes(limits),
    inodes: limits.inodes ?? DEFAULT_INODES,
    fileMb: limits.fileMb ?? DEFAULT_FILE_MB,
    user: parsed.user,
  };
}
