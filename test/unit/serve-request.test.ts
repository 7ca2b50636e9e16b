import { describe, expect, it } from 'vitest';
import { ServeStudentInputSchema, serveWorkflowId } from '../../core/serve/serve-request';
import { tokenSha256 } from '../../client/serve-command';

const artifact = `sha256:${'a'.repeat(64)}`;

describe('a serving request', () => {
  it('keeps only the hash of the token, fills the engine defaults and names its workflow after the run', () => {
    const hash = tokenSha256('a-long-enough-secret-token');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain('secret');
    const input = ServeStudentInputSchema.parse({
      runId: 'my-run',
      checkpoint: { artifact },
      proxy: { tokenSha256: hash },
    });
    expect(input).toMatchObject({
      servedName: 'student',
      maxModelLen: 32_768,
      seed: 0,
      proxy: { port: 8000, tokenSha256: hash, engineWaitSeconds: 60 },
    });
    expect(input.proxy.bind).toBeUndefined();
    expect(serveWorkflowId(input.runId)).toBe('sera-serve-my-run');
  });

  it('refuses a token in clear, a port out of range and unknown fields, naming them', () => {
    const bad = ServeStudentInputSchema.safeParse({
      runId: 'my-run',
      checkpoint: { artifact },
      proxy: { tokenSha256: 'the-token-itself', port: 70_000 },
      tools: 'hermes',
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['proxy.tokenSha256', 'proxy.port', '']));
    expect(bad.error!.issues.find((i) => i.path.join('.') === 'proxy.tokenSha256')?.message).toContain(
      'SHA-256',
    );
  });
});
