import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

/**
 * Installs the Temporal worker runtime once per process: SIGINT/SIGTERM shut workers down
 * gracefully, and SERA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR) sets how chatty they are.
 */
export function installWorkerRuntime(defaultLevel: LogLevel): void {
  const level = (process.env.SERA_LOG_LEVEL?.toUpperCase() ?? defaultLevel) as LogLevel;
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: ['SIGINT', 'SIGTERM'] });
}
