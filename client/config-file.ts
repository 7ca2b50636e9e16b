import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { isGitUrl } from '../core/names';
import type { RunConfig } from '../core/run-config';

/** A JSON or YAML file (by its extension), or an error that names the file and what it was for. */
export function readConfigFile(file: string, what: string): unknown {
  try {
    const text = readFileSync(file, 'utf8');
    return /\.ya?ml$/i.test(file) ? (YAML.parse(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (error) {
    throw new Error(`cannot read the ${what} ${file}: ${(error as Error).message}`);
  }
}

/** The paths of a run config that the CLI makes absolute, by the field that holds them. */
function runConfigPaths(config: RunConfig): Array<{ field: string; value: string }> {
  const paths = [{ field: 'repository.path', value: config.repository.path }];
  const evaluation = config.evaluate;
  if (evaluation) {
    if ('path' in evaluation.instances)
      paths.push({ field: 'evaluate.instances.path', value: evaluation.instances.path });
    for (const [repo, env] of Object.entries(evaluation.environments))
      paths.push({ field: `evaluate.environments.${repo}.path`, value: env.path });
  }
  for (const [i, source] of (config.dataset.mix?.sources ?? []).entries())
    if ('file' in source) paths.push({ field: `dataset.mix.sources[${i}].file`, value: source.file });
  return paths.filter((p) => !isGitUrl(p.value) && !path.isAbsolute(p.value));
}

/**
 * A run config's relative paths are read from the current directory (as the Temporal CLI's
 * `--input-file` has the workers read them), while an evaluation config's are read from its own
 * folder. Where that difference bites (nothing at the path from here, something beside the config)
 * the user gets a warning naming both places instead of a missing repository an hour later.
 */
export function runConfigPathWarnings(file: string, config: RunConfig, cwd = process.cwd()): string[] {
  const configDir = path.dirname(path.resolve(cwd, file));
  if (configDir === path.resolve(cwd)) return [];
  return runConfigPaths(config).flatMap(({ field, value }) => {
    const fromHere = path.resolve(cwd, value);
    const besideConfig = path.resolve(configDir, value);
    if (existsSync(fromHere) || !existsSync(besideConfig)) return [];
    return [
      `warning: ${file}: ${field} "${value}" is read from the current directory (${fromHere}), where nothing is; ` +
        `beside the config it would be ${besideConfig}. Run configs read relative paths from the directory ` +
        `the command runs in (evaluation configs from their own folder): write it from here, or absolute (docs/commands.md).`,
    ];
  });
}
