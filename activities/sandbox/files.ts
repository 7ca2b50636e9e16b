import type Docker from 'dockerode';
import path from 'node:path';
import { pack, extract } from 'tar-stream';
import { whileHeartbeating } from '../common/activity-context';
import { asSandboxFailure, containerGone, dockerStatus } from './docker-errors';
import { policyOf } from './sandbox-policy-of';

/**
 * Writes one file into the container through the engine's archive API (no shell quoting),
 * heartbeating meanwhile: a restored patch may be tens of megabytes.
 */
export function writeSandboxFile(
  docker: Docker,
  container: string,
  filePath: string,
  content: string,
  /** `private`: the harness's own record, root's and unreadable to the agent. */
  access: 'agent' | 'private' = 'agent',
): Promise<void> {
  return whileHeartbeating(() => writeThroughArchive(docker, container, filePath, content, access));
}

/** Reads one regular file from the container (heartbeating); undefined when it does not exist. */
export function readSandboxFile(
  docker: Docker,
  container: string,
  filePath: string,
): Promise<string | undefined> {
  return whileHeartbeating(() => readThroughArchive(docker, container, filePath));
}

async function writeThroughArchive(
  docker: Docker,
  container: string,
  filePath: string,
  content: string,
  access: 'agent' | 'private',
): Promise<void> {
  const absolute = path.posix.resolve('/repo', filePath);
  // The agent's files are the sandbox user's, so it can change what the harness wrote for it.
  const policy = await policyOf(docker, container).catch((error: unknown) => {
    if (dockerStatus(error) === 404) throw containerGone(container, 'not found');
    throw asSandboxFailure(error, `inspecting ${container}`);
  });
  const owner =
    access === 'private'
      ? { uid: 0, gid: 0, mode: 0o600 }
      : { uid: policy.uid, gid: policy.gid, mode: 0o644 };
  const archive = pack();
  archive.entry({ name: path.posix.basename(absolute), ...owner }, content);
  archive.finalize();
  // tar-stream's streams are not Node streams: collect the (small) archive into a buffer.
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  try {
    await docker
      .getContainer(container)
      .putArchive(Buffer.concat(chunks), { path: path.posix.dirname(absolute) });
  } catch (error) {
    if (dockerStatus(error) === 404) {
      const detail = (error as { json?: { message?: string } }).json?.message ?? 'not found';
      if (/container/i.test(detail)) throw containerGone(container, detail);
      throw new Error(`cannot write ${absolute}: its directory does not exist in ${container}`);
    }
    throw asSandboxFailure(error, `writing ${absolute} in ${container}`);
  }
}

async function readThroughArchive(
  docker: Docker,
  container: string,
  filePath: string,
): Promise<string | undefined> {
  const absolute = path.posix.resolve('/repo', filePath);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getContainer(container).getArchive({ path: absolute });
  } catch (error) {
    if (dockerStatus(error) === 404) {
      const detail = (error as { json?: { message?: string } }).json?.message ?? '';
      if (/no such container/i.test(detail)) throw containerGone(container, detail);
      return undefined;
    }
    throw asSandboxFailure(error, `reading ${absolute} in ${container}`);
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const untar = extract();
    untar.on('entry', (header, body, next) => {
      if (header.type === 'file') body.on('data', (c: unknown) => chunks.push(c as Buffer));
      body.on('end', next);
      body.resume();
    });
    untar.on('finish', () => resolve(Buffer.concat(chunks).toString('utf8')));
    untar.on('error', reject);
    stream.pipe(untar);
  });
}
