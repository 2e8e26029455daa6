/**
 * The logger the SDK writes to: the subset of pino's API it uses, so a pino (or
 * pino-compatible) logger can be passed as is. Silent by default.
 */

/** One log method: `(object, message?)` or `(message)`, like pino. */
export interface LogMethod {
  (object: Readonly<Record<string, unknown>>, message?: string): void;
  (message: string): void;
}

/** A pino-compatible logger. */
export interface Logger {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  /** Optional, like pino's `child`; used to bind the service name. */
  child?(bindings: Readonly<Record<string, unknown>>): Logger;
}

const noop = (): void => {};

/** A logger that drops everything: the default. */
export const silentLogger: Logger = Object.freeze({
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  child: () => silentLogger,
});

/** `logger.child(bindings)` when the logger has `child`, else the logger itself. */
export function childLogger(logger: Logger, bindings: Readonly<Record<string, unknown>>): Logger {
  return typeof logger.child === 'function' ? logger.child(bindings) : logger;
}
