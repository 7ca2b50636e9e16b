import { createHash } from 'node:crypto';
import type { ToolAction } from '../../core/agent/tool-call';

/**
 * The name a tool call's recorded result goes by in its container: the workflow run that asked
 * for it, the call's place in the rollout (turn and index) and a digest of the exact action. A
 * retried attempt of the call finds the result its earlier attempt recorded; a reset or a rerun
 * (another run id) or another command at the same place never does.
 */
export function toolResultKey(execution: string, callKey: string, action: ToolAction): string {
  const digest = createHash('sha256').update(canonicalJson(action)).digest('hex').slice(0, 16);
  return `${fileSafe(execution)}-${fileSafe(callKey)}-${digest}`;
}

/** JSON with object keys sorted, so the same action always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const fileSafe = (s: string): string => s.replace(/[^\w.-]/g, '_');
