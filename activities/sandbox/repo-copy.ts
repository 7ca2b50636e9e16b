import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { extract, pack, type Header } from 'tar-stream';
import type { SandboxUser } from '../../core/sandbox-user';
import { asSandboxFailure, dockerStatus } from './docker-errors';

export interface CopiedSize {
  /** The bytes of the folder's files (all of them, even when they did not fit). */
  bytes: number;
  /** Its files, folders and links. */
  entries: number;
  /** True when the sandbox's folder ran out of bytes or files before the copy ended. */
  outOfSpace: boolean;
}

const MANAGED_LABEL = 'sera.managed';

export interface CopyInput {
  /** A container of the image, never started (`sourceContainer`). */
  source: Docker.Container;
  /** A folder of the image. */
  from: string;
  /** The sandbox that receives it, and the folder of the sandbox it lands in. */
  into: string;
  to: string;
  /** Put under this relative folder of `to` (made on the way), e.g. `.cache/go-build`. */
  under?: string;
  owner: SandboxUser;
}

/**
 * A container of the image that never starts, to read its folders through the engine's archive
 * calls; it carries the sandbox's labels, so the reaper takes it with the sandbox if it is left.
 */
export async function sourceContainer(
  docker: Docker,
  input: { image: string; name: string; runId: string; workflowId: string },
): Promise<Docker.Container> {
  const name = `${input.name}-source`;
  try {
    await docker.getContainer(name).remove({ force: true });
  } catch (error) {
    if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409)
      throw asSandboxFailure(error, `removing ${name}`);
  }
  try {
    return await docker.createContainer({
      name,
      Image: input.image,
      Cmd: ['true'],
      Labels: { [MANAGED_LABEL]: 'true', 'sera.run': input.runId, 'sera.workflow-id': input.workflowId },
      HostConfig: { NetworkMode: 'none' },
    });
  } catch (error) {
    throw asSandboxFailure(error, `reading ${input.image}`);
  }
}

/**
 * Copies a folder of the image into a sandbox's tmpfs (which starts empty), through the engine's
 * archive calls, with every entry owned by the sandbox's user. Undefined when the image has no
 * such folder.
 */
export async function copyFromImage(docker: Docker, input: CopyInput): Promise<CopiedSize | undefined> {
  const archive = await readFolder(input.source, input.from);
  if (!archive) return undefined;
  const counted = { bytes: 0, entries: 0 };
  try {
    const owned = reowned(archive, input.owner, counted, input.under);
    await docker.getContainer(input.into).putArchive(Readable.from(owned), { path: input.to });
  } catch (error) {
    if (!/no space left on device/i.test(describe(error)))
      throw asSandboxFailure(error, `filling ${input.to} of ${input.into}`);
    // Count the whole folder, so a refusal can name the size that did not fit.
    const again = await readFolder(input.source, input.from);
    return { ...(again ? await measure(again) : counted), outOfSpace: true };
  }
  return { ...counted, outOfSpace: false };
}

async function readFolder(
  source: Docker.Container,
  folder: string,
): Promise<NodeJS.ReadableStream | undefined> {
  try {
    return await source.getArchive({ path: folder });
  } catch (error) {
    if (dockerStatus(error) === 404 && /could not find the file/i.test(describe(error))) return undefined;
    throw asSandboxFailure(error, `reading ${folder} of the image`);
  }
}

/** The pax keys this copy rewrites: left in, they would be written after the new header and win. */
const REWRITTEN_PAX = new Set(['path', 'linkpath', 'uid', 'gid', 'uname', 'gname']);

function withoutRewritten(pax: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!pax) return undefined;
  const kept = Object.entries(pax).filter(([key]) => !REWRITTEN_PAX.has(key));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** The folder's archive with its top folder dropped (or renamed to `under`), owned by `owner`. */
function reowned(
  archive: NodeJS.ReadableStream,
  owner: SandboxUser,
  counted: { bytes: number; entries: number },
  under?: string,
): ReturnType<typeof pack> {
  const out = pack();
  const ownership = { uid: owner.uid, gid: owner.gid, uname: '', gname: '' };
  const parts = under ? under.split('/').filter(Boolean) : [];
  // The folders on the way, first, so the engine does not make them root's.
  parts.forEach((_, i) =>
    out.entry({ name: parts.slice(0, i + 1).join('/'), type: 'directory', mode: 0o755, ...ownership }),
  );
  const place = (inner: string): string => (parts.length ? `${parts.join('/')}/${inner}` : inner);
  const untar = extract();
  untar.on('entry', (header: Header, body, next) => {
    const inner = innerPath(header.name);
    if (inner === undefined) {
      body.on('end', next);
      body.resume();
      return;
    }
    const name = place(inner);
    counted.entries += 1;
    counted.bytes += header.size ?? 0;
    const link = header.type === 'link' && header.linkname ? innerPath(header.linkname) : undefined;
    const linkname = link === undefined ? header.linkname : place(link);
    const entry = out.entry(
      {
        ...header,
        name,
        linkname,
        ...ownership,
        pax: withoutRewritten(header.pax as Record<string, string> | undefined),
      },
      next,
    );
    body.pipe(entry);
  });
  untar.on('finish', () => out.finalize());
  untar.on('error', (error: Error) => out.destroy(error));
  archive.pipe(untar);
  return out;
}

async function measure(archive: NodeJS.ReadableStream): Promise<{ bytes: number; entries: number }> {
  const counted = { bytes: 0, entries: 0 };
  await new Promise<void>((resolve, reject) => {
    const untar = extract();
    untar.on('entry', (header: Header, body, next) => {
      if (innerPath(header.name) !== undefined) {
        counted.entries += 1;
        counted.bytes += header.size ?? 0;
      }
      body.on('end', next);
      body.resume();
    });
    untar.on('finish', resolve);
    untar.on('error', reject);
    archive.pipe(untar);
  });
  return counted;
}

/** `repo/a/b` → `a/b`: the archive's top folder dropped; the top folder itself → undefined. */
function innerPath(name: string): string | undefined {
  const rest = name.replace(/^\.?\/?[^/]+(\/|$)/, '').replace(/\/$/, '');
  return rest === '' ? undefined : rest;
}

function describe(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(error);
}
