/** A pino-style log method: the details first, then the message. */
export type LogFn = (details: object, message: string) => void;

/**
 * The one logger type of the pipeline (pino's shape, without pino): each part takes the levels it
 * uses, as `Pick<Logger, 'info' | 'warn'>`, so a test hands in a recording logger.
 */
export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}
