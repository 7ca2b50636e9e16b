// Records the histories of a finished specialization run into test/fixtures/histories/<set>/, one
// per workflow type, for the replay test: `npm run record-histories -- <workflow id> <set>` (a
// server must answer at TEMPORAL_ADDRESS; `npm run demo` leaves its dev server running). Each set
// is kept: runs recorded before a patch stay, so the old branch keeps being replayed. With
// `--cancelled`, the run was cancelled: its workflows that ended cancelled are recorded too.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectClient } from './temporal-connection';
import { writeHistoryFixture, type HistoryFixture } from './history-fixtures';
import { historyFixturesDir, repoRoot } from './paths';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const cancelled = args.includes('--cancelled');
  const [root, set] = args.filter((arg) => arg !== '--cancelled');
  // A cancelled run's histories end cancelled; a finished run's end completed.
  const ending = cancelled ? ['COMPLETED', 'CANCELLED'] : ['COMPLETED'];
  if (!root || !set || !/^[a-z0-9][a-z0-9-]*$/.test(set))
    throw new Error(
      'usage: record-histories <workflow id of a finished run> <set name: lower-case letters, digits, dashes> [--cancelled]',
    );
  const dir = path.join(historyFixturesDir, set);
  const client = await connectClient();
  try {
    const seen = new Set<string>();
    const stages = new Set<string>();
    const index: HistoryFixture[] = [];
    const queue = [root];
    mkdirSync(dir, { recursive: true });
    // Breadth first, so each type is recorded from the workflow closest to the root.
    while (queue.length > 0) {
      const workflowId = queue.shift()!;
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe();
      if (!ending.includes(description.status.name)) {
        if (workflowId === root)
          throw new Error(
            `${root} is ${description.status.name}: record a finished run (or a cancelled one with --cancelled)`,
          );
        continue; // another workflow of its type may have completed
      }
      const history = await handle.fetchHistory();
      // Up to three children of each type, in case the first did not complete.
      const perType = new Map<string, number>();
      const children = (history.events ?? []).flatMap((e) => {
        const started = e.startChildWorkflowExecutionInitiatedEventAttributes;
        const type = started?.workflowType?.name ?? '';
        if (!started?.workflowId || (workflowId !== root && (perType.get(type) ?? 0) >= 3)) return [];
        perType.set(type, (perType.get(type) ?? 0) + 1);
        return [{ id: started.workflowId, type }];
      });
      // Every stage of the root (both evaluations: an endpoint and a served checkpoint), then one of each type.
      const stage = stages.has(workflowId);
      if (stage || !seen.has(description.type)) {
        const name = seen.has(description.type)
          ? `${description.type}${workflowId.slice(root.length)}`
          : description.type;
        seen.add(description.type);
        const fixture = writeHistoryFixture(dir, name, { type: description.type, workflowId }, history);
        index.push(fixture);
        console.log(
          `${description.type}: ${workflowId}, ${fixture.events} events -> ${path.relative(repoRoot, path.join(dir, fixture.file))}`,
        );
      }
      if (workflowId === root) for (const child of children) stages.add(child.id);
      for (const child of children) if (stages.has(child.id) || !seen.has(child.type)) queue.push(child.id);
    }
    writeFileSync(
      path.join(dir, 'index.json'),
      JSON.stringify(
        { recordedFrom: root, ...(cancelled ? { ending: 'cancelled' } : {}), fixtures: index },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await client.connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
