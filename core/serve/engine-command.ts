/**
 * The serving engine's command line: vLLM's OpenAI-compatible server with the hermes tool-call
 * parser (the format the student was trained on), the spec's context length and a fixed seed.
 */
export interface EngineSettings {
  modelDir: string;
  servedName: string;
  host: string;
  port: number;
  maxModelLen: number;
  seed: number;
  /** GPUs the engine spreads the model over; above 1, vLLM's tensor parallelism. */
  gpus: number;
  extraArgs: readonly string[];
}

export function vllmArgs(s: EngineSettings): string[] {
  return [
    '-m',
    'vllm.entrypoints.openai.api_server',
    '--model',
    s.modelDir,
    '--served-model-name',
    s.servedName,
    '--host',
    s.host,
    '--port',
    String(s.port),
    '--enable-auto-tool-choice',
    '--tool-call-parser',
    'hermes',
    '--max-model-len',
    String(s.maxModelLen),
    '--seed',
    String(s.seed),
    ...(s.gpus > 1 ? ['--tensor-parallel-size', String(s.gpus)] : []),
    ...s.extraArgs,
  ];
}

/** What the workflow is told when a server answers (again). */
export interface ServerReady {
  baseUrl: string;
  model: string;
  /** Grows with every (re)start, so a late signal from an older server is ignored. */
  generation: number;
  /** Where the proxy in front of the engine answers, when one was asked for (`serveStudent`). */
  proxyUrl?: string;
}

export const MODEL_SERVER_READY_SIGNAL = 'modelServerReady';
