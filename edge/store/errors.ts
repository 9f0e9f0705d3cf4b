import { GridwatchError } from '../../shared/index.ts';

/**
 * Maps what better-sqlite3 throws to the project's errors. A full disk (SQLITE_FULL) is retryable:
 * space may come back (eviction, housekeeping, an operator); the unit that hit it fails so the
 * caller does not PUBACK, and the device resends. Busy/locked is retryable too; anything else
 * (corruption, I/O error, misuse) is not.
 */
export function storageError(err: unknown, what: string): GridwatchError {
  if (err instanceof GridwatchError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_FULL' || (typeof code === 'string' && code.startsWith('SQLITE_FULL'))) {
    return new GridwatchError('STORAGE_FULL', `${what}: disk full (${message})`, { retryable: true, cause: err });
  }
  const retryable = typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
  return new GridwatchError('STORAGE_FAILED', `${what}: ${message}`, { retryable, cause: err, details: { sqliteCode: code } });
}
