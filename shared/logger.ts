import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** Structured JSON logs (one object per line) for every program; fields, not prose, carry the facts. */
export type Logger = PinoLogger;

export interface LoggerOptions {
  program: string;
  level?: string;
  /** Extra fields on every line, for example edgeId. */
  base?: Record<string, unknown>;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env.GRIDWATCH_LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      base: { program: opts.program, pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
