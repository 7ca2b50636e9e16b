import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutRequest } from '../../core/agent/rollout-input';
import { TaskQueues } from '../../core/queues';
import type { RolloutResult } from '../../workflows/rollout';
import { exampleRolloutRequest, readTrajectory } from '../support/rollout';
import { startScriptedEndpoint, type ScriptedReply } from '../support/scripted-endpoint';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const HOST = 'reply-policy-tests';
const ls: ScriptedReply['toolCalls'] = [{ name: 'bash', arguments: { command: 'ls' } }];

describe('replies that go wrong, against a scripted endpoint, in real rollouts', () => {
  let workers: RunningWorkers;
  beforeAll(async () => {
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: HOST });
  });
  afterAll(async () => {
    await workers?.stop();
  });

  async function run(
    replies: ScriptedReply[],
    limits: RolloutRequest['limits'],
    model: Partial<RolloutRequest['model']> = {},
  ): Promise<{
    result: RolloutResult;
    requests: Awaited<ReturnType<typeof startScriptedEndpoint>>['requests'];
    /** The model activities the rollout scheduled, with their summaries. */
    modelCalls: string[];
  }> {
    const endpoint = await startScriptedEndpoint(replies);
    try {
      const runId = uniqueRunId('reply');
      const request = await exampleRolloutRequest(runId, 'p1', endpoint.url, HOST, { limits });
      request.model = { ...request.model, ...model };
      const handle = await workers.client.workflow.start('rollout', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `${runId}-p1`,
        args: [request],
      });
      const result = (await handle.result()) as RolloutResult;
      const modelCalls: string[] = [];
      for (const event of (await handle.fetchHistory()).events ?? []) {
        const scheduled = event.activityTaskScheduledEventAttributes;
        if (scheduled?.activityType?.name !== 'agentTurn') continue;
        const summary = event.userMetadata?.summary?.data;
        modelCalls.push(summary ? (JSON.parse(Buffer.from(summary).toString('utf8')) as string) : '');
      }
      return { result, requests: endpoint.requests, modelCalls };
    } finally {
      await endpoint.close();
    }
  }

  it('keeps reasoning apart and never sends it back; asks bad replies again with new seeds, none kept', async () => {
    const { result, requests, modelCalls } = await run(
      [
        { reasoning_content: 'FIELD-SECRET: list first.', content: 'Listing.', toolCalls: ls },
        {
          content: '<think>\nTAG-SECRET: look again.\n</think>\n\nLooking again.',
          toolCalls: [{ name: 'bash', arguments: { command: 'pwd' } }],
        },
        // The third turn goes wrong four ways before its reply is kept.
        { content: 'CUT-REPLY <tool_call>{"name": "ba', finishReason: 'length' },
        { content: '' },
        { content: 'NO-CALL-REPLY: I am done.' },
        { content: 'MALFORMED-REPLY', toolCalls: [{ name: 'bash', arguments: '{"command": "ls"' }] },
        { content: 'Review.', toolCalls: [{ name: 'submit', arguments: {} }] },
      ],
      { formatRequeries: 4 },
    );
    expect(result.exitStatus).toBe('submitted');
    expect(result.retried).toEqual({ length: 1, empty: 1, no_tool_call: 1, malformed: 1 });
    // One model request per activity: the workflow asked each bad reply again, in the timeline.
    expect(modelCalls).toHaveLength(requests.length);
    expect(modelCalls.slice(2, 7)).toEqual([
      'turn 3',
      'turn 3 · asked again (1)',
      'turn 3 · asked again (2)',
      'turn 3 · asked again (3)',
      'turn 3 · asked again (4)',
    ]);

    const trajectory = await readTrajectory(result.trajectory);
    const answers = trajectory.messages.filter((m) => m.role === 'assistant');
    expect(answers[0]).toMatchObject({ content: 'Listing.', reasoning: 'FIELD-SECRET: list first.' });
    expect(answers[1]).toMatchObject({ content: 'Looking again.', reasoning: 'TAG-SECRET: look again.' });
    expect(answers[2]).toMatchObject({ content: 'Review.' });
    // The bad replies reached neither the messages nor the tool results.
    const stored = JSON.stringify(trajectory.messages);
    for (const bad of ['CUT-REPLY', 'NO-CALL-REPLY', 'MALFORMED-REPLY']) expect(stored).not.toContain(bad);
    expect(trajectory.turns[2]!.retried).toEqual({ length: 1, empty: 1, no_tool_call: 1, malformed: 1 });
    expect(trajectory.turns[2]!.usage.completionTokens).toBe(5 * 10);

    // The teacher never got its reasoning back.
    const sent = JSON.stringify(requests.map((r) => r.messages));
    expect(sent).not.toContain('SECRET');
    expect(requests.every((r) => r.messages.every((m) => !('reasoning' in m)))).toBe(true);
    // Turn 3's five attempts: a seed each, the limit doubled after the cut and kept so.
    const third = requests.slice(2, 7);
    expect(third.map((r) => r.seed)).toEqual([7, 8, 9, 10, 11]);
    expect(third.map((r) => r.max_tokens ?? r.max_completion_tokens)).toEqual([4096, 8192, 8192, 8192, 8192]);
    expect(requests[7]!.seed).toBe(7);
    expect(requests[7]!.max_tokens ?? requests[7]!.max_completion_tokens).toBe(4096);
  });

  it('ends with exit_format naming the cause once the retries are spent', async () => {
    const cut: ScriptedReply = { content: 'CUT-REPLY', finishReason: 'length' };
    const { result, requests } = await run([cut, cut], { formatRequeries: 1 });
    expect(result.exitStatus).toBe('exit_format');
    expect(result.detail).toBe('reply cut at the token limit (length) after 1 retry');
    expect(result.retried).toEqual({ length: 1 });
    expect(requests.map((r) => r.seed)).toEqual([7, 8]);
    expect(requests.map((r) => r.max_tokens ?? r.max_completion_tokens)).toEqual([4096, 8192]);
    const trajectory = await readTrajectory(result.trajectory);
    expect(trajectory.messages.some((m) => m.role === 'assistant')).toBe(false);
    expect(trajectory.exit?.status).toBe('exit_format');
    expect(result.completionTokens).toBe(20);
  });

  it('checks the context cap on the conversation, not on the sum of the attempts of a turn', async () => {
    // Each request's prompt is 100 tokens; a turn asked twice sums 200, over a cap of 150.
    const { result } = await run(
      [
        { content: '' },
        { content: 'Listing.', toolCalls: ls },
        { content: 'Review.', toolCalls: [{ name: 'submit', arguments: {} }] },
      ],
      { formatRequeries: 2, contextCapTokens: 150 },
    );
    expect(result.retried).toEqual({ empty: 1 });
    expect(result.exitStatus).toBe('submitted');
    // Four requests (the submit is shown its review and sent again): every attempt's prompt counted.
    expect(result.promptTokens).toBe(400);
  });

  it('charges a reply lost to a timeout at its prompt and whole limit, and a server error nothing', async () => {
    const { result, requests } = await run(
      [
        { status: 500 },
        { delayMs: 5000 },
        { content: 'Listing.', toolCalls: ls },
        { content: 'Review.', toolCalls: [{ name: 'submit', arguments: {} }] },
      ],
      { formatRequeries: 1 },
      { requestTimeoutSeconds: 1, maxTokens: 1000 },
    );
    expect(result.exitStatus).toBe('submitted');
    // Five requests: the refused one, the lost one, then the turn's reply and two for the submit.
    expect(requests).toHaveLength(5);
    const trajectory = await readTrajectory(result.trajectory);
    expect(trajectory.turns[0]!.lostRequests).toBe(1);
    // The lost request's whole limit, plus 10 for each of the three replies that came back.
    expect(trajectory.turns[0]!.usage.completionTokens).toBe(1000 + 10);
    expect(result.completionTokens).toBe(1000 + 3 * 10);
    // Its prompt too: the tokenizer's count of the same request, on top of the server's 100s.
    expect(trajectory.turns[0]!.usage.promptTokens).toBeGreaterThan(100 + 50);
    expect(trajectory.turns.slice(1).every((t) => t.lostRequests === undefined)).toBe(true);
  });
});
