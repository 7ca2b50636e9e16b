import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { stripAnsi } from '../../core/ansi';
import type { BuildStep } from '../../core/image-dockerfile';
import { asSandboxFailure, dockerStatus } from './docker-errors';

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if (dockerStatus(error) === 404) return false;
    throw asSandboxFailure(error, `inspecting image ${tag}`);
  }
}

/** The builder's own failure, with the step it was on and the log's last lines. */
export class ImageBuildError extends Error {
  constructor(
    readonly step: number | undefined,
    readonly detail: string,
    readonly tail: string,
  ) {
    super(detail);
  }
}

interface BuildEvent {
  stream?: string;
  error?: string;
  status?: string;
}

const STEP_LINE = /^Step (\d+)\/\d+ : /;

export interface BuildOptions {
  /** The Dockerfile's path inside the context, when not `Dockerfile`. */
  dockerfile?: string;
  /** `none`: the build's RUN steps have no network (the commit image's build commands). */
  networkMode?: 'none';
}

/** Builds under way in this worker, by tag: a second caller waits for the first build. */
const underWay = new Map<string, Promise<void>>();

/**
 * Builds an image from a context folder (only the `src` entries of it), streaming the builder's
 * output line by line to `log`. A failed step throws ImageBuildError with its step number. Rollouts
 * that claim one host at once, and an evaluation set's commits, ask for the same image together:
 * one build runs, the others wait for it.
 */
export function buildImage(
  docker: Docker,
  context: string,
  src: string[],
  tag: string,
  labels: Record<string, string>,
  log: (line: string) => void,
  options: BuildOptions = {},
): Promise<void> {
  const running = underWay.get(tag);
  if (running) {
    log(`waiting for the build of ${tag} already under way here`);
    return running;
  }
  const build = buildOnce(docker, context, src, tag, labels, log, options).finally(() =>
    underWay.delete(tag),
  );
  underWay.set(tag, build);
  return build;
}

async function buildOnce(
  docker: Docker,
  context: string,
  src: string[],
  tag: string,
  labels: Record<string, string>,
  log: (line: string) => void,
  { dockerfile, networkMode }: BuildOptions,
): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      { context, src },
      {
        t: tag,
        labels,
        rm: true,
        forcerm: true,
        ...(dockerfile ? { dockerfile } : {}),
        ...(networkMode ? { networkmode: networkMode } : {}),
      },
    );
  } catch (error) {
    throw asSandboxFailure(error, `building image ${tag}`);
  }
  let step: number | undefined;
  const recent: string[] = [];
  const remember = (line: string): void => {
    recent.push(line);
    if (recent.length > 40) recent.shift();
    log(line);
  };
  const failure = await new Promise<string | undefined>((resolve, reject) => {
    let error: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(asSandboxFailure(err, `building image ${tag}`)) : resolve(error)),
      (event: BuildEvent) => {
        for (const line of stripAnsi(event.stream ?? event.status ?? '').split('\n')) {
          if (!line.trim()) continue;
          const match = STEP_LINE.exec(line);
          if (match?.[1]) step = Number(match[1]);
          remember(line.trimEnd());
        }
        if (event.error) {
          // "The command '/bin/sh -c …' returned a non-zero code: 1": the step's label says which command.
          error = event.error
            .trim()
            .replace(/^The command '.*' returned a non-zero code: (\d+)$/s, 'exit code $1');
          remember(error);
        }
      },
    );
  });
  if (failure !== undefined) throw new ImageBuildError(step, failure, recent.join('\n'));
}

/** A person's name for the step a builder line starts ("Step 7/12 : RUN …"), if it starts one. */
export function stepLabel(line: string, steps: readonly BuildStep[]): string | undefined {
  const step = Number(STEP_LINE.exec(line)?.[1]);
  return steps.find((s) => s.step === step)?.label;
}

/** A failed build as the failure a person reads: which step, what it said, where the log is. */
export function buildFailure(
  error: ImageBuildError,
  steps: readonly BuildStep[],
  image: string,
  logArtifact: string,
): ApplicationFailure {
  const label = steps.find((s) => s.step === error.step)?.label;
  const isSetup = label !== undefined && /^(setup|build|system packages|git is there)/.test(label);
  const where = label ? `${label}` : `step ${error.step ?? '?'}`;
  return ApplicationFailure.create({
    type: isSetup ? ErrorTypes.SetupFailed : ErrorTypes.ImageBuildFailed,
    message: `building ${image} failed at ${where}: ${error.detail}; build log: artifact ${logArtifact}\n${error.tail.split('\n').slice(-12).join('\n')}`,
    nonRetryable: true,
  });
}
