/**
 * Failure types a person can search for in the Temporal UI. Types listed as non-retryable are
 * bad input: retrying cannot help, so they fail at once with a clear message.
 */
export const ErrorTypes = {
  InvalidInput: 'InvalidInput',
  RepositoryNotFound: 'RepositoryNotFound',
  CommitNotFound: 'CommitNotFound',
  BaseImageMissing: 'BaseImageMissing',
  ImageBuildFailed: 'ImageBuildFailed',
  ContainerGone: 'ContainerGone',
  CommandTimedOut: 'CommandTimedOut',
  TestCommandFailed: 'TestCommandFailed',
  DockerUnreachable: 'DockerUnreachable',
  ArtifactMissing: 'ArtifactMissing',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ErrorTypes.InvalidInput,
  ErrorTypes.RepositoryNotFound,
  ErrorTypes.CommitNotFound,
  ErrorTypes.BaseImageMissing,
  ErrorTypes.ImageBuildFailed,
  ErrorTypes.TestCommandFailed,
  ErrorTypes.ArtifactMissing,
];
