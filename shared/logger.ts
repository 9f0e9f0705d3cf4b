import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** Structured JSON logs (one object per line) for every program; fields, not prose, carry the facts. */
export type Logger = PinoLogger;

/**
 * Fields that hold secrets, wherever a log call puts them (top level or one object down, like
 * `{ config }` or `{ sasl }`): pino replaces their values before the line is written. The config
 * loader keeps secrets out of its error messages; this is the net under every other log call.
 */
const SECRET_FIELDS = [
  'password', 'secret', 'token', 'secretKey', 'passwordHash', 'authorization', 'cookie',
  's3SecretKey', 's3AccessKey', 'influxToken', 'webhookSecret', 'kafkaSaslPassword', 'apiToken', 'metricsToken', 'mqttUpstreamUrl',
];
export const REDACT_PATHS: string[] = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]).concat(['*.headers.authorization', '*.headers.cookie', '*.sasl.password']);

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
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
