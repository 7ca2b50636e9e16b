import { z } from 'zod';
import type { FunctionTool } from '../agent/tools';
import { parseAssistantTurn } from './hermes-parser';
import { renderChatml, type InferenceMessage } from './hermes-format';

/** One line of the exported JSONL: the messages a trainer reads, and where they came from. */
export const SftLineSchema = z.strictObject({
  id: z.string().min(1),
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['system', 'user', 'assistant']),
        content: z.string(),
        train: z.boolean(),
      }),
    )
    .min(2),
  meta: z.strictObject({
    runId: z.string(),
    index: z.number().int(),
    source: z.enum(['T1', 'T2']),
    /** How many of the trajectory's messages the line covers (after truncation). */
    sourceMessages: z.number().int().positive(),
    tokens: z.number().int().positive(),
    truncationRatio: z.number().min(0).max(1),
    recall: z.number().optional(),
    changedLines: z.number().int().min(0),
    bugCategory: z.string(),
  }),
});

export type SftLine = z.output<typeof SftLineSchema>;

/**
 * The format proof for one exported line: it parses back; train flags sit exactly on assistant
 * turns; its chatml text equals the student's official template rendering of the same
 * conversation (what the server will show the student); and every tool call of the source is
 * recovered, in order, from the assistant text by a hermes parser like vLLM's. Returns the
 * problems found; none means the line is proven.
 */
export function proveSftLine(
  line: string,
  source: InferenceMessage[],
  tools: FunctionTool[],
  renderTemplate: (messages: InferenceMessage[], tools: FunctionTool[]) => string,
): string[] {
  let parsed: SftLine;
  try {
    const result = SftLineSchema.safeParse(JSON.parse(line));
    if (!result.success) return [`not the export format: ${result.error.issues[0]?.message ?? 'invalid'}`];
    parsed = result.data;
  } catch (error) {
    return [`not JSON: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  parsed.messages.forEach((m, i) => {
    if (m.train !== (m.role === 'assistant')) problems.push(`message ${i} (${m.role}) has train=${m.train}`);
  });
  if (parsed.messages[parsed.messages.length - 1]?.role !== 'assistant' && parsed.meta.truncationRatio < 1)
    problems.push('a cut conversation does not end with an assistant turn');
  if (renderChatml(parsed.messages) !== renderTemplate(source, tools))
    problems.push('the chatml text differs from the chat template rendering of the source');
  const expected = source.flatMap((m) =>
    m.role === 'assistant'
      ? (m.tool_calls ?? []).map((c) => ({
          name: c.function.name,
          arguments: JSON.parse(c.function.arguments) as unknown,
        }))
      : [],
  );
  const recovered = parsed.messages
    .filter((m) => m.role === 'assistant')
    .flatMap((m) => parseAssistantTurn(m.content).toolCalls);
  // Both sides come from parsing JSON text of the same key order, so their JSON compares exactly.
  if (JSON.stringify(recovered) !== JSON.stringify(expected))
    problems.push(`tool calls recovered ${recovered.length}, expected ${expected.length}, or they differ`);
  return problems;
}
