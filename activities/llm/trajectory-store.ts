import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import type { PendingObservation, Trajectory } from '../../core/agent/trajectory';

/** Trajectories live in the artifact store as JSON; each change is a new (content-addressed) blob. */
export async function loadTrajectory(store: ArtifactStore, ref: ArtifactRef): Promise<Trajectory> {
  return JSON.parse((await store.get(ref.id)).toString('utf8')) as Trajectory;
}

export async function saveTrajectory(store: ArtifactStore, trajectory: Trajectory): Promise<ArtifactRef> {
  return store.put(JSON.stringify(trajectory), 'application/json');
}

/** Appends tool results as `tool` messages and records them on the turn that asked for them. */
export async function appendObservations(
  store: ArtifactStore,
  trajectory: Trajectory,
  observations: PendingObservation[],
): Promise<void> {
  const lastTurn = trajectory.turns[trajectory.turns.length - 1];
  for (const o of observations) {
    const content = o.ref ? (await store.get(o.ref.id)).toString('utf8') : (o.text ?? '');
    if (o.toolCallId === undefined) {
      trajectory.messages.push({ role: 'user', content });
      continue;
    }
    trajectory.messages.push({ role: 'tool', tool_call_id: o.toolCallId, content });
    lastTurn?.tools.push({
      callId: o.toolCallId,
      name: o.name,
      ok: o.ok,
      ms: o.ms,
      exitCode: o.exitCode,
      ...(o.writableKb === undefined ? {} : { writableKb: o.writableKb }),
    });
  }
}
