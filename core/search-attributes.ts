import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed search attributes: how a person finds a run in the Temporal UI. */
export const SearchAttributes = {
  repository: defineSearchAttributeKey('SeraRepository', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('SeraStage', SearchAttributeType.KEYWORD),
  runId: defineSearchAttributeKey('SeraRunId', SearchAttributeType.KEYWORD),
  acceptedSamples: defineSearchAttributeKey('SeraAcceptedSamples', SearchAttributeType.INT),
  costUsd: defineSearchAttributeKey('SeraCostUsd', SearchAttributeType.DOUBLE),
};

/** The same set as `temporal server start-dev --search-attribute Name=Type` arguments. */
export function searchAttributeFlags(): string[] {
  const cliType: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.INT]: 'Int',
    [SearchAttributeType.DOUBLE]: 'Double',
  };
  return Object.values(SearchAttributes).flatMap((key) => [
    '--search-attribute',
    `${key.name}=${cliType[key.type] ?? 'Keyword'}`,
  ]);
}
