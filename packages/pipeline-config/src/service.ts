import { type Env, integer, oneOf, stringWithDefault } from './env.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What every service process needs to listen, log and stop. */
export interface ServiceSettings {
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** How long in-flight work gets to finish after SIGTERM. */
  readonly shutdownGraceMs: number;
}

export function loadServiceSettings(env: Env, defaults: { port: number; shutdownGraceMs?: number }): ServiceSettings {
  return {
    host: stringWithDefault(env, 'HOST', '127.0.0.1'),
    port: integer(env, 'PORT', defaults.port, { min: 0, max: 65535 }),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', defaults.shutdownGraceMs ?? 10_000, { min: 0 }),
  };
}
