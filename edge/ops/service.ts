import { statusAssignment, type SystemdNotifier } from '../../shared/systemd.ts';
import type { Clock } from '../../shared/index.ts';

/**
 * What the gateway tells systemd (Type=notify): READY=1 once it takes readings, a STATUS= line and,
 * when the unit has WatchdogSec, WATCHDOG=1 every half of it, but only while the gateway is
 * healthy; STOPPING=1 on SIGTERM. Outside systemd the notifier is a no-op.
 *
 * Healthy means the event loop runs (the pings come from a timer on it: a stalled loop sends
 * none) and the store commits. Kafka is deliberately not part of it: while Kafka is away the
 * outbox keeps readings, and a restart would only drop every MQTT connection.
 */

/** Counters sampled from the group committer. */
export interface CommitProgress {
  /** SQLite transactions committed since start. */
  committed: number;
  /** SQLite transactions that failed since start. */
  failed: number;
  /** Units waiting for their commit now. */
  pending: number;
}

export interface Verdict {
  healthy: boolean;
  /** Why not, for the STATUS line and the log; null when healthy. */
  reason: string | null;
}

/**
 * Pure judgement of the store from successive samples of its counters. The store is unhealthy
 * when, for at least `graceMs`, either every commit attempted failed (disk gone, I/O errors) or
 * units stayed pending with no commit attempted at all (the committer stopped). One failed commit
 * followed by a good one is not a reason: the grace keeps a single bad moment from costing a
 * restart, and the heartbeat commits every few seconds, so a working store shows progress.
 */
export class CommitWatch {
  private prev: CommitProgress | null = null;
  private failingSince: number | null = null;
  private stalledSince: number | null = null;
  private prevAt = 0;

  constructor(private readonly graceMs: number) {}

  check(now: number, p: CommitProgress): Verdict {
    const prev = this.prev;
    if (prev !== null) {
      if (p.committed > prev.committed) {
        this.failingSince = null;
        this.stalledSince = null;
      } else {
        if (p.failed > prev.failed) this.failingSince ??= now;
        // Pending at both samples with no attempt in between: nothing is committing them.
        if (p.failed === prev.failed && prev.pending > 0 && p.pending > 0) this.stalledSince ??= this.prevAt;
        else this.stalledSince = null;
      }
    }
    this.prev = { ...p };
    this.prevAt = now;
    if (this.failingSince !== null && now - this.failingSince >= this.graceMs) {
      return { healthy: false, reason: `every commit failed for ${Math.round((now - this.failingSince) / 1000)} s` };
    }
    if (this.stalledSince !== null && now - this.stalledSince >= this.graceMs) {
      return { healthy: false, reason: `${p.pending} units waiting, no commit for ${Math.round((now - this.stalledSince) / 1000)} s` };
    }
    return { healthy: true, reason: null };
  }
}

export interface ServiceSample {
  progress: CommitProgress;
  /** The STATUS= text while healthy (outbox depth and the like). */
  status: string;
}

export interface ServiceNotifyOptions {
  notifier: SystemdNotifier;
  clock: Clock;
  sample: () => ServiceSample;
  /** Interval of STATUS= lines without a watchdog (with one: every ping). */
  statusEveryMs?: number;
  /** Called when the verdict changes, to log it. */
  onVerdict?: (v: Verdict) => void;
}

/** STATUS= lines are cheap (one short-lived child process); without a watchdog one every 10 s. */
const STATUS_EVERY_MS = 10_000;

/**
 * Drives the notifier: `tick()` is the pure step (what to send now), `start()` runs it on a timer.
 * The health grace is the ping interval: a store that fails every commit for one interval loses the
 * next ping, and systemd restarts the gateway one to two intervals later (WatchdogSec = 2 x ping).
 */
export class ServiceNotify {
  private readonly watch: CommitWatch;
  private timer: NodeJS.Timeout | null = null;
  private last: Verdict = { healthy: true, reason: null };
  private stopping = false;

  constructor(private readonly o: ServiceNotifyOptions) {
    this.watch = new CommitWatch(this.intervalMs);
  }

  get intervalMs(): number {
    return this.o.notifier.watchdogPingMs ?? this.o.statusEveryMs ?? STATUS_EVERY_MS;
  }

  /** The pipeline is started and takes readings. */
  ready(): void {
    const s = this.o.sample();
    this.watch.check(this.o.clock.now(), s.progress);
    this.o.notifier.notify(['READY=1', statusAssignment(s.status)]);
  }

  /** One step: the assignments sent now (also returned, for tests and logs). */
  tick(): string[] {
    const s = this.o.sample();
    const v = this.watch.check(this.o.clock.now(), s.progress);
    if (v.healthy !== this.last.healthy) this.o.onVerdict?.(v);
    this.last = v;
    const out: string[] = [];
    if (v.healthy && this.o.notifier.watchdogPingMs !== null) out.push('WATCHDOG=1');
    out.push(statusAssignment(this.stopping ? `stopping: ${s.status}` : v.healthy ? s.status : `unhealthy, watchdog pings withheld: ${v.reason}`));
    this.o.notifier.notify(out);
    return out;
  }

  start(): this {
    if (!this.o.notifier.enabled || this.timer !== null) return this;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /**
   * SIGTERM: STOPPING=1. The pings go on while the gateway drains (as long as the store is
   * healthy), so a long drain is bounded by TimeoutStopSec, not cut by the watchdog.
   */
  notifyStopping(): void {
    this.stopping = true;
    this.o.notifier.notify(['STOPPING=1', statusAssignment('stopping: closing intake, draining the outbox')]);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
