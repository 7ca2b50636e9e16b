import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { extract, pack, type Header } from 'tar-stream';
import type { SandboxUser } from '../../core/sandbox-user';
import { asSandboxFailure, dockerStatus } from './docker-errors';

export interface CopiedSize {
  /** The bytes of the image's /repo files (all of them, even when they did not fit). */
  bytes: number;
  /** Its files, folders and links. */
  entries: number;
  /** True when the sandbox's /repo ran out of bytes or files before the copy ended. */
  outOfSpace: boolean;
}

const MANAGED_LABEL = 'sera.managed';

/**
 * Copies the image's /repo into a sandbox's /repo (a tmpfs that starts empty), through the
 * engine's archive calls, with every file owned by the sandbox's user. The files come from a
 * container of the image that never starts, one per image and kept for the next sandbox (the
 * reaper may remove it at any time: it is made again).
 */
export async function copyRepository(
  docker: Docker,
  input: { image: string; into: string; owner: SandboxUser },
): Promise<CopiedSize> {
  const source = await sourceOf(docker, input.image);
  const archive = await source.getArchive({ path: '/repo' }).catch(async (error: unknown) => {
    if (dockerStatus(error) !== 404) throw asSandboxFailure(error, `reading /repo of ${input.image}`);
    // Reaped between two sandboxes: make it again.
    return (await sourceOf(docker, input.image, true)).getArchive({ path: '/repo' });
  });
  const counted = { bytes: 0, entries: 0 };
  try {
    const owned = reowned(archive, input.owner, counted);
    await docker.getContainer(input.into).putArchive(Readable.from(owned), { path: '/repo' });
  } catch (error) {
    if (!/no space left on device/i.test(describe(error)))
      throw asSandboxFailure(error, `filling /repo of ${input.into}`);
    // Count the whole archive, so the refusal can name the size that did not fit.
    return { ...(await measure(await source.getArchive({ path: '/repo' }))), outOfSpace: true };
  }
  return { ...counted, outOfSpace: false };
}

/** The kept, never started container of an image, by a name taken from the image's id. */
async function sourceOf(docker: Docker, image: string, again = false): Promise<Docker.Container> {
  let id: string;
  try {
    id = (await docker.getImage(image).inspect()).Id.replace(/^sha256:/, '');
  } catch (error) {
    throw asSandboxFailure(error, `inspecting image ${image}`);
  }
  const name = `sera-source-${id.slice(0, 16)}`;
  const existing = docker.getContainer(name);
  if (!again) {
    try {
      await existing.inspect();
      return existing;
    } catch (error) {
      if (dockerStatus(error) !== 404) throw asSandboxFailure(error, `inspecting ${name}`);
    }
  }
  try {
    return await docker.createContainer({
      name,
      Image: image,
      Cmd: ['true'],
      Labels: { [MANAGED_LABEL]: 'true', 'sera.run': '', 'sera.workflow-id': '' },
      HostConfig: { NetworkMode: 'none' },
    });
  } catch (error) {
    // Another sandbox of the same image made it first.
    if (dockerStatus(error) === 409) return docker.getContainer(name);
    throw asSandboxFailure(error, `reading /repo of ${image}`);
  }
}

/** The archive of /repo with its top folder dropped and every entry owned by `owner`. */
function reowned(
  archive: NodeJS.ReadableStream,
  owner: SandboxUser,
  counted: { bytes: number; entries: number },
): ReturnType<typeof pack> {
  const out = pack();
  const untar = extract();
  untar.on('entry', (header: Header, body, next) => {
    const name = inRepo(header.name);
    if (name === undefined) {
      body.on('end', next);
      body.resume();
      return;
    }
    counted.entries += 1;
    counted.bytes += header.size ?? 0;
    const linkname = header.type === 'link' && header.linkname ? inRepo(header.linkname) : header.linkname;
    const entry = out.entry(
      { ...header, name, linkname, uid: owner.uid, gid: owner.gid, uname: '', gname: '' },
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
      if (inRepo(header.name) !== undefined) {
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

/** `repo/a/b` → `a/b`; the top folder itself → undefined (the tmpfs root stands for it). */
function inRepo(name: string): string | undefined {
  const rest = name.replace(/^\.?\/?repo(\/|$)/, '');
  return rest === '' ? undefined : rest;
}

function describe(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(error);
}
