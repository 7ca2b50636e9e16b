import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';

interface DockerError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string };
}

export function dockerStatus(error: unknown): number | undefined {
  return (error as DockerError | undefined)?.statusCode;
}

/** True when the engine itself cannot be reached (socket missing, refused, reset). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as DockerError | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * Turns an error from the Docker engine into a failure a person can act on. An unreachable
 * engine is retryable (it may come back); everything else keeps its own message.
 */
export function asSandboxFailure(error: unknown, what: string): Error {
  if (error instanceof ApplicationFailure) return error;
  if (isUnreachable(error)) {
    return ApplicationFailure.create({
      type: ErrorTypes.DockerUnreachable,
      message: `${what}: the Docker engine does not answer (${(error as DockerError).code}); start it (infra/docker-engine.sh) or set DOCKER_HOST`,
      nonRetryable: false,
    });
  }
  const e = error as DockerError;
  const detail = e.json?.message ?? e.message ?? String(error);
  return new Error(`${what}: ${detail}`);
}

export function containerGone(name: string, detail: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorTypes.ContainerGone,
    message: `container ${name} is gone (${detail})`,
    nonRetryable: true,
  });
}
