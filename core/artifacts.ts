/**
 * Large data (trajectories, patches, logs, datasets, checkpoints) lives in an artifact store and
 * travels through workflow histories by reference: id, size, media type and a short preview.
 */
export interface ArtifactRef {
  /** `sha256:<hex>` of the content: the same bytes always get the same id. */
  id: string;
  size: number;
  mediaType: string;
  /** The first characters of text content, for a person reading the history. */
  preview: string;
}

export interface ArtifactStore {
  put(content: Uint8Array | string, mediaType: string): Promise<ArtifactRef>;
  /** Stores a file's bytes without holding them in memory (large datasets, checkpoints). */
  putFile(file: string, mediaType: string): Promise<ArtifactRef>;
  get(id: string): Promise<Buffer>;
  /** Writes an artifact's bytes to a file without holding them in memory (checkpoint weights). */
  getFile(id: string, destination: string): Promise<void>;
  has(id: string): Promise<boolean>;
  /**
   * Writes a small record under a name the caller chooses (see isRecordName), for what must be
   * found again by name rather than by content: a run's finished samples, read by a resume. A
   * record written again under the same name replaces the earlier one whole.
   */
  putNamed(name: string, content: string): Promise<void>;
  /** The record written under `name`, or undefined when none was. */
  getNamed(name: string): Promise<Buffer | undefined>;
}

export const PREVIEW_CHARS = 240;

export function previewOf(content: Uint8Array | string, mediaType: string): string {
  if (!mediaType.startsWith('text/') && !/json|yaml/.test(mediaType)) return '';
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  return text.length <= PREVIEW_CHARS ? text : `${text.slice(0, PREVIEW_CHARS)}…`;
}

const ID_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isArtifactId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * A record name: segments joined by `/`, each of letters, digits, `-`, `_`, `.` and `%` (escape
 * anything else first) and none starting with a dot, so a name stays inside the store's own
 * folder and never meets the store's temporary files.
 */
export function isRecordName(name: string): boolean {
  return name.split('/').every((segment) => /^[A-Za-z0-9_%-][A-Za-z0-9._%-]{0,254}$/.test(segment));
}
