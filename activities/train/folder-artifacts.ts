import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';

/** A folder (a checkpoint, a trained model) in the artifact store: one blob per file and a manifest. */
export const FolderManifestSchema = z.object({
  kind: z.literal('sera.folder'),
  /** What the folder is, for a reader: "checkpoint" or "model". */
  role: z.string(),
  /** The training step it was written at. */
  step: z.number().int().min(0),
  files: z.array(z.object({ path: z.string(), artifact: z.string(), size: z.number().int().min(0) })),
});
export type FolderManifest = z.output<typeof FolderManifestSchema>;

async function filesUnder(root: string, relative = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
    const name = path.join(relative, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(root, name)));
    else if (entry.isFile()) out.push(name);
  }
  return out.sort();
}

/** Stores every file of a folder, streamed, then the manifest naming them. Same folder, same id. */
export async function putFolder(
  store: ArtifactStore,
  folder: string,
  role: string,
  step: number,
  /** File names left out (at any depth). */
  skip: string[] = [],
): Promise<ArtifactRef> {
  const files: FolderManifest['files'] = [];
  for (const name of await filesUnder(folder)) {
    if (skip.includes(path.basename(name))) continue;
    const file = path.join(folder, name);
    const ref = await store.putFile(file, 'application/octet-stream');
    files.push({ path: name.split(path.sep).join('/'), artifact: ref.id, size: (await stat(file)).size });
  }
  const manifest: FolderManifest = { kind: 'sera.folder', role, step, files };
  return store.put(JSON.stringify(manifest, null, 1), 'application/json');
}

export async function readFolderManifest(store: ArtifactStore, id: string): Promise<FolderManifest> {
  return FolderManifestSchema.parse(JSON.parse((await store.get(id)).toString('utf8')));
}

/** Writes a stored folder's files under `destination`; returns its manifest. */
export async function getFolder(
  store: ArtifactStore,
  id: string,
  destination: string,
): Promise<FolderManifest> {
  const manifest = await readFolderManifest(store, id);
  for (const file of manifest.files) {
    if (file.path.split('/').includes('..'))
      throw new Error(`manifest ${id} names a path outside its folder`);
    await store.getFile(file.artifact, path.join(destination, file.path));
  }
  return manifest;
}

/** The trainer's state file inside a checkpoint folder, read back (step, log history). */
export async function readTrainerState(folder: string): Promise<{ global_step: number } | undefined> {
  try {
    return JSON.parse(await readFile(path.join(folder, 'trainer_state.json'), 'utf8')) as {
      global_step: number;
    };
  } catch {
    return undefined;
  }
}
