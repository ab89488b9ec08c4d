type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  readonly level: Level;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** Its place among the lines of every RecordingLogger of the test process: orders lines across consumers. */
  readonly order: number;
}

let logged = 0;

/** Keeps what was logged, so a test reads the lines back as pino would have written them. */
export class RecordingLogger {
  readonly lines: LogLine[] = [];

  readonly debug = (details: object, message: string) => this.#log('debug', details, message);
  readonly info = (details: object, message: string) => this.#log('info', details, message);
  readonly warn = (details: object, message: string) => this.#log('warn', details, message);
  readonly error = (details: object, message: string) => this.#log('error', details, message);

  /** Every line serialized as JSON, errors with their message, stack and cause chain. */
  text(): string {
    return this.lines.map((line) => JSON.stringify({ ...line }, errorsAsObjects)).join('\n');
  }

  #log(level: Level, details: object, message: string): void {
    this.lines.push({ level, message, details: { ...details }, order: ++logged });
  }
}

function errorsAsObjects(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return { name: value.name, message: value.message, stack: value.stack, cause: value.cause };
}
