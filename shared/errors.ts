/**
 * One error type for the whole project. Every failure carries a stable code and whether a retry
 * can help; retry loops consult only `retryable`, never the message.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONTRACT_INVALID'
  | 'TOPOLOGY_INVALID'
  | 'STORAGE_FULL'
  | 'STORAGE_FAILED'
  | 'KAFKA_UNAVAILABLE'
  | 'KAFKA_REJECTED'
  | 'ARCHIVE_FAILED'
  | 'SERVICE_UNAVAILABLE'
  | 'PROVISION_FAILED'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

export class GridwatchError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GridwatchError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, retryable: this.retryable, message: this.message, details: this.details };
  }
}

/** Whether retrying the operation that threw `err` can help. Unknown errors are not retried blindly. */
export function isRetryable(err: unknown): boolean {
  return err instanceof GridwatchError ? err.retryable : false;
}

/** Wraps anything thrown into a GridwatchError, keeping the original as `cause`. */
export function toGridwatchError(err: unknown, code: ErrorCode = 'INTERNAL', retryable = false): GridwatchError {
  if (err instanceof GridwatchError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GridwatchError(code, message, { retryable, cause: err });
}
