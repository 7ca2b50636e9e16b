import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths';

/**
 * The sandbox base image's tag: a hash of infra/base-image.recipe, computed exactly as
 * infra/base-image.sh does, so the scripts that build it and the code that uses it agree.
 */
export function baseImageTag(): string {
  if (process.env.SERA_BASE_IMAGE) return process.env.SERA_BASE_IMAGE;
  const recipe = readFileSync(path.join(repoRoot, 'infra', 'base-image.recipe'));
  return `sera-base:${createHash('sha256').update(recipe).digest('hex').slice(0, 12)}`;
}
