/**
 * How many sandbox containers a Docker host may run, and whether a host claim fits under that cap.
 * Pure: the sandbox worker lists its engine's containers and keeps the claims it granted; the
 * counting and the decision are here.
 */

export const MAX_CONTAINERS_VARIABLE = 'SERA_SANDBOX_MAX_CONTAINERS';

/**
 * The cap from SERA_SANDBOX_MAX_CONTAINERS; unset: the worker's activity concurrency on its host
 * queue. Each container then has a free slot for its one task at a time (a rollout is sequential),
 * so a task waits on a live host's queue only behind work that holds no container (image builds,
 * grading), and a long wait there means the host's worker is gone.
 */
export function containerCap(concurrency: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MAX_CONTAINERS_VARIABLE];
  if (raw === undefined || raw === '') return concurrency;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(
      `${MAX_CONTAINERS_VARIABLE}=${JSON.stringify(raw)}: expected a whole number of at least 1`,
    );
  return value;
}

/** A container on the engine, as far as the count needs it. */
export interface CountedContainer {
  workflowId: string;
  /** Docker's state: `running`, `created`, `exited` … */
  state: string;
}

/** A claim granted to a workflow whose container may not exist yet. */
export interface ClaimReservation {
  workflowId: string;
  /** Milliseconds since the epoch when it was granted. */
  at: number;
}

/**
 * A granted claim counts until its workflow creates its container on the host (the sandbox worker
 * then releases it), or for this long: a rollout creates its container right after the claim
 * returns, so a reservation older than this belongs to a workflow that moved on.
 */
export const RESERVATION_TTL_MS = 2 * 60 * 1000;

/**
 * Containers that hold the host's resources: running ones (stopped ones hold only disk; the
 * repository copy's source containers are never started), plus granted claims whose workflow has
 * no running container yet, so a burst of claims on an empty host does not all pass the cap.
 */
export function hostLoad(
  containers: readonly CountedContainer[],
  reservations: readonly ClaimReservation[],
  now: number,
): number {
  const running = containers.filter((c) => c.state === 'running');
  const withContainer = new Set(running.map((c) => c.workflowId));
  const pending = reservations.filter(
    (r) => now - r.at < RESERVATION_TTL_MS && !withContainer.has(r.workflowId),
  );
  return running.length + pending.length;
}

/**
 * Why a claim on this host is refused, or undefined when it fits: one more container must not
 * take the host past its cap.
 */
export function capacityRefusal(hostId: string, load: number, cap: number): string | undefined {
  if (load < cap) return undefined;
  return `sandbox host ${hostId} runs ${load} containers (counting claims not yet started), at its cap of ${cap} (${MAX_CONTAINERS_VARIABLE}): another host may take the claim`;
}

/**
 * The claims a sandbox worker granted, one per workflow (a workflow's later claim replaces its
 * earlier one), with expired ones dropped as new ones come.
 */
export class ClaimBook {
  private readonly byWorkflow = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  reserve(workflowId: string): void {
    const at = this.now();
    for (const [id, grantedAt] of this.byWorkflow)
      if (at - grantedAt >= RESERVATION_TTL_MS) this.byWorkflow.delete(id);
    this.byWorkflow.set(workflowId, at);
  }

  release(workflowId: string): void {
    this.byWorkflow.delete(workflowId);
  }

  list(): ClaimReservation[] {
    return [...this.byWorkflow].map(([workflowId, at]) => ({ workflowId, at }));
  }
}
