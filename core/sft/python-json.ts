/**
 * JSON as Python's `json.dumps(value, ensure_ascii=False)` writes it: `", "` between items and
 * `": "` after keys. Chat templates (`tojson`) and vLLM's tool parser both produce this spelling,
 * so training text uses it too.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
}
