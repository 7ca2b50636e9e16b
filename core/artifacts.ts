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
