import { ManualClock, silentLogger, systemClock, type Clock } from '../../../shared/index.ts';
import { Detector } from '../../../edge/detect/index.ts';
import { Authorizer, type CredentialsFile } from '../../../edge/ingest/auth.ts';
import { EmbeddedBroker } from '../../../edge/ingest/broker.ts';
import { Intake } from '../../../edge/ingest/intake.ts';
import { RollingCheckpoints } from '../../../edge/ingest/checkpoints.ts';
import { MeterDirectory } from '../../../edge/ingest/meters.ts';
import type { CommitUnit, Committer } from '../../../edge/ingest/ports.ts';
import type { Topology } from '../../../shared/index.ts';

/** A committer that keeps units in memory; `hold` delays every commit until `release()`. */
export class MemoryCommitter implements Committer {
  readonly units: CommitUnit[] = [];
  hold = false;
  fail: Error | null = null;
  private waiting: (() => void)[] = [];
  submit(unit: CommitUnit, done: (err?: Error) => void): void {
    const commit = () => {
      if (this.fail) return done(this.fail);
      this.units.push(unit);
      done();
    };
    if (this.hold) this.waiting.push(commit);
    else queueMicrotask(commit);
  }
  release(): void {
    this.hold = false;
    const w = this.waiting;
    this.waiting = [];
    for (const c of w) c();
  }
  get pending(): number {
    return this.waiting.length;
  }
  records(topic?: string) {
    return this.units.flatMap((u) => u.records).filter((r) => topic === undefined || r.topic === topic);
  }
  deadLetters() {
    return this.units.flatMap((u) => u.deadLetters ?? []);
  }
}

export const BOUNDS = { aheadTagMs: 300_000, behindTagMs: 86_400_000, rejectAheadMs: 86_400_000, rejectBehindMs: 30 * 86_400_000 };

export function makeIntake(opts: { credentials?: CredentialsFile; allowAnonymous?: boolean; topology?: Topology | null; unknownMeterPolicy?: 'accept' | 'reject'; clock?: Clock; committer?: MemoryCommitter } = {}) {
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 10, 23, 6, 0, 0));
  const committer = opts.committer ?? new MemoryCommitter();
  const meters = new MeterDirectory('edge-t', opts.topology ?? null, { nominalVoltage: 230, nominalFrequency: 50, readingIntervalMs: 1000 });
  const detector = new Detector({ edgeId: 'edge-t', context: meters.context, clock });
  const authorizer = new Authorizer({ allowAnonymous: opts.allowAnonymous ?? true, credentials: opts.credentials ?? {} });
  const intake = new Intake({
    edgeId: 'edge-t',
    substationId: 'sub-t',
    detector,
    committer,
    authorizer,
    clock,
    meters,
    unknownMeterPolicy: opts.unknownMeterPolicy ?? 'accept',
    bounds: BOUNDS,
    maxArrayReadings: 100,
    checkpoints: new RollingCheckpoints(detector, { everyRecords: 300, perCheckpoint: 5 }),
  });
  return { intake, committer, clock, authorizer, detector };
}

export async function startBroker(opts: Parameters<typeof makeIntake>[0] & { maxInflight?: number; minReadBytes?: number } = {}) {
  const parts = makeIntake({ clock: systemClock, ...opts });
  const broker = await EmbeddedBroker.start({
    intake: parts.intake,
    authorizer: parts.authorizer,
    logger: silentLogger(),
    limits: { maxConnections: 5, maxPacketBytes: 64 * 1024, maxTopicLength: 128, maxClientIdLength: 64, socketBufferBytes: 65_536, ...(opts.maxInflight !== undefined ? { maxInflight: opts.maxInflight } : {}), ...(opts.minReadBytes !== undefined ? { minReadBytes: opts.minReadBytes } : {}) },
    listeners: { host: '127.0.0.1', port: 0 },
  });
  return { ...parts, broker, url: `mqtt://127.0.0.1:${broker.addresses.tcp}` };
}
