import { defineConfig } from 'vitest/config';

// Two projects: unit tests of core/ need nothing running; integration tests share one Temporal
// dev server (started by the global setup) and the Docker engine, so their files run one at a time.
export default defineConfig({
  test: {
    fileParallelism: false,
    // A stray `.only` would run less than the suite: refused in every run, not only where CI is set.
    allowOnly: false,
    // The JSON report lets .ci/run count passed, failed and skipped tests (infra/ci-summary.ts).
    reporters: ['default', 'json'],
    outputFile: { json: '.sera/test-report.json' },
    testTimeout: 300_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          // Tests that read a missing artifact on purpose need not wait out the 30 s a worker
          // gives shared storage to catch up (the workers they start inherit this).
          env: { SERA_TRANSIENT_WAIT_SECONDS: '2' },
        },
      },
    ],
  },
});
