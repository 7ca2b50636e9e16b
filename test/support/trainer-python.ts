import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { trainerDir } from '../../infra/paths';

/** Runs a Python snippet (the system python3) with trainer/'s modules importable; returns stdout. */
export function trainerPython(code: string): string {
  return execFileSync('python3', ['-c', code], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.resolve(trainerDir) },
    timeout: 30_000,
  }).trim();
}
