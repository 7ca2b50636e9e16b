import { readFileSync } from 'node:fs';
import YAML from 'yaml';

/** A JSON or YAML file (by its extension), or an error that names the file and what it was for. */
export function readConfigFile(file: string, what: string): unknown {
  try {
    const text = readFileSync(file, 'utf8');
    return /\.ya?ml$/i.test(file) ? (YAML.parse(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (error) {
    throw new Error(`cannot read the ${what} ${file}: ${(error as Error).message}`);
  }
}
