import { createHash } from 'node:crypto';

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
