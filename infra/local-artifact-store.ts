import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import {
  type ArtifactRef,
  type ArtifactStore,
  isArtifactId,
  isRecordName,
  PREVIEW_CHARS,
  previewOf,
} from '../core/artifacts';
import { ErrorTypes } from '../core/errors';
import { activityContext } from '../activities/common/activity-context';
import { retryTransient, transientWaitsMs, waitedFor } from '../activities/common/transient-retry';

export interface LocalArtifactStoreOptions {
  /**
   * The waits before looking again for an artifact that is not there. Default: about 30 s inside
   * an activity (SERA_TRANSIENT_WAIT_SECONDS; a shared mount may be catching up; the activity heartbeats meanwhile), none
   * elsewhere (a command line answers at once).
   */
  missingWaitsMs?: readonly number[];
}

/**
 * Content-addressed artifacts in a local directory: `<root>/sha256/<2 hex>/<64 hex>`, and named
 * records under `<root>/named/<name>`. Writes go to a temporary file first and are renamed into
 * place, so a crash never leaves a half-written blob under a valid id or name, and writing the
 * same bytes twice is harmless.
 */
export class LocalArtifactStore implements ArtifactStore {
  constructor(
    private readonly root: string,
    private readonly options: LocalArtifactStoreOptions = {},
  ) {}

  async put(content: Uint8Array | string, mediaType: string): Promise<ArtifactRef> {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const hex = createHash('sha256').update(bytes).digest('hex');
    await this.place(hex, (tmp) => writeFile(tmp, bytes));
    return { id: `sha256:${hex}`, size: bytes.length, mediaType, preview: previewOf(bytes, mediaType) };
  }

  async putFile(source: string, mediaType: string): Promise<ArtifactRef> {
    const hash = createHash('sha256');
    let head = Buffer.alloc(0);
    for await (const chunk of createReadStream(source)) {
      hash.update(chunk as Buffer);
      if (head.length < PREVIEW_CHARS * 4) head = Buffer.concat([head, chunk as Buffer]);
    }
    const hex = hash.digest('hex');
    await this.place(hex, (tmp) => copyFile(source, tmp));
    const size = (await stat(this.fileFor(hex))).size;
    return {
      id: `sha256:${hex}`,
      size,
      mediaType,
      preview: previewOf(head.subarray(0, PREVIEW_CHARS * 4), mediaType),
    };
  }

  /** Writes a blob once: into a temporary file, then renamed under its id. */
  private async place(hex: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const file = this.fileFor(hex);
    if (await exists(file)) return;
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await write(tmp);
    await rename(tmp, file);
  }

  /** Where an artifact's bytes lie on this host: what a memo links to. */
  pathOf(id: string): string {
    return this.fileFor(this.hexOf(id));
  }

  async get(id: string): Promise<Buffer> {
    const file = this.fileFor(this.hexOf(id));
    return this.whenThere(id, () => readFile(file));
  }

  async getFile(id: string, destination: string): Promise<void> {
    const file = this.fileFor(this.hexOf(id));
    await mkdir(path.dirname(destination), { recursive: true });
    await this.whenThere(id, () => copyFile(file, destination));
  }

  /**
   * Reads an artifact, looking again while it cannot be read (not there yet, or the mount
   * failing), then fails non-retryably naming it: every id comes from a put that finished, so
   * one still missing after the waits is lost, and retrying the activity cannot bring it back.
   */
  private async whenThere<T>(id: string, read: () => Promise<T>): Promise<T> {
    const waits = this.options.missingWaitsMs ?? (activityContext() ? transientWaitsMs() : []);
    try {
      return await retryTransient(read, () => true, waits);
    } catch (error) {
      const looked = waits.length > 0 ? `, looked ${waits.length + 1} times over ${waitedFor(waits)}` : '';
      throw ApplicationFailure.create({
        type: ErrorTypes.ArtifactMissing,
        message: `artifact ${id} is not in the store at ${this.root}${looked} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        nonRetryable: true,
      });
    }
  }

  async has(id: string): Promise<boolean> {
    return exists(this.fileFor(this.hexOf(id)));
  }

  async putNamed(name: string, content: string): Promise<void> {
    const file = this.namedFile(name);
    await mkdir(path.dirname(file), { recursive: true });
    // Beside the record, so the rename stays on one file system; a dot name, so no record has it.
    const tmp = path.join(path.dirname(file), `.${randomUUID()}.tmp`);
    await writeFile(tmp, content);
    await rename(tmp, file);
  }

  async getNamed(name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.namedFile(name));
    } catch (error) {
      // Absent is an answer (not written yet); any other fault is the activity's to retry.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private namedFile(name: string): string {
    if (!isRecordName(name)) {
      throw ApplicationFailure.create({
        type: ErrorTypes.InvalidInput,
        message: `not a record name: ${JSON.stringify(name)}`,
        nonRetryable: true,
      });
    }
    return path.join(this.root, 'named', ...name.split('/'));
  }

  private hexOf(id: string): string {
    if (!isArtifactId(id)) {
      throw ApplicationFailure.create({
        type: ErrorTypes.InvalidInput,
        message: `not an artifact id: ${JSON.stringify(id)}`,
        nonRetryable: true,
      });
    }
    return id.slice('sha256:'.length);
  }

  private fileFor(hex: string): string {
    return path.join(this.root, 'sha256', hex.slice(0, 2), hex);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
