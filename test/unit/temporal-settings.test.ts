import { describe, expect, it } from 'vitest';
import { searchAttributeFlags } from '../../core/search-attributes';
import { sandboxHostQueue, TaskQueues } from '../../core/queues';
import { temporalSettingsFromEnv, workflowUiUrl } from '../../infra/temporal-connection';

describe('temporalSettingsFromEnv', () => {
  it('defaults to the local dev server and its UI', () => {
    const settings = temporalSettingsFromEnv({});
    expect(settings).toMatchObject({
      address: 'localhost:7233',
      namespace: 'default',
      uiUrl: 'http://localhost:8233',
    });
    expect(settings.tls).toBeUndefined();
  });

  it('turns TLS on for an API key, as Temporal Cloud needs', () => {
    const settings = temporalSettingsFromEnv({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: 'k',
    });
    expect(settings.apiKey).toBe('k');
    expect(settings.tls).toBeDefined();
  });

  it('wants a client certificate and key together', () => {
    expect(() => temporalSettingsFromEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' })).toThrow(
      /must be set together/,
    );
  });

  it('builds the UI address of a workflow run', () => {
    const settings = temporalSettingsFromEnv({ TEMPORAL_UI_URL: 'https://ui.example/' });
    expect(workflowUiUrl(settings, 'sera-env-a b', 'r1')).toBe(
      'https://ui.example/namespaces/default/workflows/sera-env-a%20b/r1/history',
    );
  });
});

describe('queues and search attributes', () => {
  it('give each Docker host its own sandbox queue', () => {
    expect(sandboxHostQueue('gpu-07')).toBe(`${TaskQueues.sandbox}@gpu-07`);
  });

  it('registers every search attribute with the dev server by its CLI type', () => {
    const flags = searchAttributeFlags();
    expect(flags.filter((f) => f === '--search-attribute')).toHaveLength(5);
    expect(flags).toContain('SeraAcceptedSamples=Int');
    expect(flags).toContain('SeraCostUsd=Double');
    expect(flags).toContain('SeraRepository=Keyword');
  });
});
