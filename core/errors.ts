/**
 * Failure types a person can search for in the Temporal UI. Types listed as non-retryable are
 * bad input: retrying cannot help, so they fail at once with a clear message.
 */
export const ErrorTypes = {
  InvalidInput: 'InvalidInput',
  /** The repository is not there (a path, a URL that names none) or may not be read. */
  RepositoryNotFound: 'RepositoryNotFound',
  /**
   * A clone or fetch kept failing with a network or disk fault for about 30 s of tries on one
   * sandbox host (activities/common/transient-retry.ts); a host claim passes it on to another host.
   */
  RepositoryUnreachable: 'RepositoryUnreachable',
  CommitNotFound: 'CommitNotFound',
  BaseImageMissing: 'BaseImageMissing',
  ImageBuildFailed: 'ImageBuildFailed',
  /** A recipe's setup command (or package install) failed at image build time: names the step. */
  SetupFailed: 'SetupFailed',
  /** A recipe's start image is not on the sandbox host (another host may have it). */
  ImageNotFound: 'ImageNotFound',
  /** A recipe's toolchain version cannot be fetched from its registry. */
  ToolchainUnavailable: 'ToolchainUnavailable',
  ContainerGone: 'ContainerGone',
  CommandTimedOut: 'CommandTimedOut',
  TestCommandFailed: 'TestCommandFailed',
  DockerUnreachable: 'DockerUnreachable',
  /** A sandbox host cannot build a repository's image (path, base image): another host may. */
  SandboxHostUnfit: 'SandboxHostUnfit',
  /**
   * A sandbox host already runs its cap of containers (SERA_SANDBOX_MAX_CONTAINERS): it refuses
   * the claim retryably, so the retry goes to another host or waits for one to free up.
   */
  SandboxHostFull: 'SandboxHostFull',
  /**
   * An artifact id the store does not hold, after about 30 s of looking again inside the activity
   * (a shared mount may hiccup). A malformed id is InvalidInput, at once.
   */
  ArtifactMissing: 'ArtifactMissing',
  /** The model endpoint said 429: retried after its Retry-After. */
  ModelRateLimited: 'ModelRateLimited',
  /** 5xx, connection errors, timeouts: retried with backoff. */
  ModelUnavailable: 'ModelUnavailable',
  /** 400, 422: the request is wrong; retrying cannot help. */
  ModelRequestRejected: 'ModelRequestRejected',
  /**
   * 401, 403, or an API-key variable that is unset: the key is wrong or expired. A run pauses on
   * it with the reason (the key can be fixed and the run resumed); the activity does not retry.
   */
  ModelAuthFailed: 'ModelAuthFailed',
  /** 404: no such model at that endpoint. */
  ModelNotFound: 'ModelNotFound',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ErrorTypes.InvalidInput,
  ErrorTypes.RepositoryNotFound,
  ErrorTypes.RepositoryUnreachable,
  ErrorTypes.CommitNotFound,
  ErrorTypes.BaseImageMissing,
  ErrorTypes.ImageBuildFailed,
  ErrorTypes.SetupFailed,
  ErrorTypes.ImageNotFound,
  ErrorTypes.ToolchainUnavailable,
  ErrorTypes.TestCommandFailed,
  ErrorTypes.ArtifactMissing,
  ErrorTypes.ModelRequestRejected,
  ErrorTypes.ModelNotFound,
  ErrorTypes.ModelAuthFailed,
];
