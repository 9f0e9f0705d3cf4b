import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger, Metrics } from '../../shared/index.ts';
import { loadCredentialsFile, type Authorizer } from './auth.ts';

/**
 * Reloads the MQTT credentials file on SIGHUP and when it changes, without a restart.
 *
 * The directory is watched, not the file: `gridwatch credentials`, editors and Kubernetes
 * secret volumes replace a file by renaming over it, which ends a watch on the old inode. Events
 * are debounced (an editor's save is several events) and a reload whose bytes are the same as
 * the last one is a no-op. A file that does not parse or validate keeps the credentials in force,
 * is logged and counted (`gridwatch_edge_credentials_reloads_total{result="error"}`): a typo must
 * not lock the whole substation out. After a good reload, clients whose entry was removed or
 * changed are disconnected; every other client stays connected.
 */
export interface CredentialsWatchOptions {
  path: string;
  authorizer: Authorizer;
  /** Disconnects the clients authenticated as these users; returns how many. */
  disconnectUsers: (usernames: ReadonlySet<string>) => number;
  logger: Logger;
  metrics?: Metrics;
  debounceMs?: number;
  /** Listen for SIGHUP (default true; tests running several gateways in one process turn it off). */
  sighup?: boolean;
}

export type ReloadOutcome = { result: 'reloaded'; users: number; disconnected: number } | { result: 'unchanged' } | { result: 'error'; error: string };

export class CredentialsWatch {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastDigest: string;
  private readonly onHup = () => void this.reload('SIGHUP');
  private readonly count: (result: ReloadOutcome['result']) => void;

  private constructor(private readonly o: CredentialsWatchOptions) {
    this.lastDigest = digestOf(o.path) ?? '';
    const counter = o.metrics?.counter<'result'>('edge_credentials_reloads_total', 'MQTT credentials file reloads, by result (reloaded, unchanged, error)', ['result']);
    this.count = (result) => counter?.inc({ result });
  }

  static start(o: CredentialsWatchOptions): CredentialsWatch {
    const w = new CredentialsWatch(o);
    const name = basename(o.path);
    try {
      w.watcher = watch(dirname(o.path), { persistent: false }, (_event, file) => {
        if (file === null || file.toString() === name) w.schedule();
      });
      w.watcher.on('error', (err) => o.logger.warn({ err: err.message, path: o.path }, 'credentials watch failed; reload with SIGHUP'));
    } catch (err) {
      o.logger.warn({ err: (err as Error).message, path: o.path }, 'cannot watch the credentials file; reload with SIGHUP');
    }
    if (o.sighup !== false) process.on('SIGHUP', w.onHup);
    return w;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload('file changed');
    }, this.o.debounceMs ?? 200);
    this.timer.unref();
  }

  /** Reads, validates and swaps in the file now. */
  reload(why: string): ReloadOutcome {
    const { path, logger } = this.o;
    const digest = digestOf(path);
    if (digest !== null && digest === this.lastDigest) {
      this.count('unchanged');
      return { result: 'unchanged' };
    }
    let next;
    try {
      next = loadCredentialsFile(path);
    } catch (err) {
      const error = (err as Error).message;
      this.count('error');
      logger.error({ err: error, path, why }, 'credentials file rejected; the credentials loaded before stay in force');
      return { result: 'error', error };
    }
    this.lastDigest = digest ?? '';
    const stale = this.o.authorizer.replaceCredentials(next);
    const disconnected = this.o.disconnectUsers(stale);
    const users = Object.keys(next).length;
    this.count('reloaded');
    logger.info({ path, why, users, removedOrChanged: stale.size, disconnected }, 'credentials reloaded');
    return { result: 'reloaded', users, disconnected };
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    process.off('SIGHUP', this.onHup);
  }
}

function digestOf(path: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return null;
  }
}
