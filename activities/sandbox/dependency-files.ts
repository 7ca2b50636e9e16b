import picomatch from 'picomatch';
import { DEFAULT_DEPENDENCY_FILES, type ImageRecipe } from '../../core/environment-recipe';
import { hostGitRaw } from './git';

/**
 * Path → blob id of a recipe's dependency files at a commit (its `dependencyFiles` globs, or the
 * usual manifests and lock files at any depth outside node_modules/): what an environment image's
 * key depends on besides the recipe.
 */
export async function dependencyFiles(
  repository: string,
  commit: string,
  recipe: ImageRecipe,
): Promise<Map<string, string>> {
  const globs = recipe.dependencyFiles ?? DEFAULT_DEPENDENCY_FILES.map((g) => `{,**/}${g}`);
  const matches = picomatch(globs, { dot: true });
  const files = new Map<string, string>();
  for (const line of (await hostGitRaw(['ls-tree', '-r', commit], repository)).split('\n')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(line);
    if (m?.[1] && m[2] && matches(m[2]) && !/(^|\/)node_modules\//.test(m[2])) files.set(m[2], m[1]);
  }
  return files;
}
