import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../../core/artifacts';

/*
 * Names of a run's named records in the artifact store (core/artifacts.ts, putNamed): everything a
 * run keeps there lives under `runs/<its workflow id, escaped>/`, so a resume finds it by the
 * workflow id alone, whatever Temporal still remembers of the run.
 */

/** Longest escaped segment kept readable; a file name has at most 255 bytes. */
const MAX_READABLE_SEGMENT = 200;

/**
 * A workflow id as one record-name segment: bytes other than letters, digits, `-` and `_` as
 * `%XX` (so `/`, `.` and `..` cannot step out of the folder). An id too long for a file name keeps
 * its first characters and adds the SHA-256 of the whole, so two ids never share a segment.
 */
export function nameSegment(text: string): string {
  let escaped = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    escaped += /[A-Za-z0-9_-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (escaped.length <= MAX_READABLE_SEGMENT) return escaped;
  const hash = createHash('sha256').update(text, 'utf8').digest('hex');
  return `${escaped.slice(0, MAX_READABLE_SEGMENT - hash.length - 1)}-${hash}`;
}

/** The folder of the run whose workflow id is `workflowId`. */
export function runRecordFolder(workflowId: string): string {
  return `runs/${nameSegment(workflowId)}`;
}

/**
 * A named record's JSON: undefined when there is no record, `{ value: undefined }` when its bytes
 * do not parse (the caller's schema then refuses it and says so).
 */
export async function readNamedJson(
  store: ArtifactStore,
  name: string,
): Promise<{ value: unknown } | undefined> {
  const bytes = await store.getNamed(name);
  if (!bytes) return undefined;
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch {
    return { value: undefined };
  }
}
