/**
 * The gateway's own path per reading, in one process and without the network: payload Buffer ->
 * Intake (route, parse, contract check, topology, detector, forwarded text, checkpoints) -> group
 * commit to a real SQLite outbox (FULL, retainForReplay, as the gateway opens it) -> the
 * forwarder's peek + removeRange of what was committed. No aedes, no Kafka: what is left is what
 * edge/ingest, edge/detect and edge/store cost, as CPU time of this process per reading, steady
 * enough (a few per cent) to compare two versions of the code, which the paced fleet on a shared
 * machine is not (±10 % between runs of the same code).
 *
 *   node --import tsx edge/ingest/bench.ts [readings=200000] [meters=10000] [group=500]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, systemClock, Topology, type TopologyEntry } from '../../shared/index.ts';
import { Detector } from '../detect/index.ts';
import { EdgeStore } from '../store/edge-store.ts';
import { GroupCommitter } from '../store/group-committer.ts';
import { Authorizer } from './auth.ts';
import { RollingCheckpoints } from './checkpoints.ts';
import { Intake } from './intake.ts';
import { MeterDirectory } from './meters.ts';

export async function benchIntakePath(n: number, meters: number, group: number): Promise<{ cpuUsPerReading: number; readingsPerSec: number; accepted: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'gridwatch-intake-bench-'));
  const entries: TopologyEntry[] = Array.from({ length: meters }, (_, i) => ({ meterId: `m-${i}`, transformerId: `t-${i >> 5}`, feederId: `f-${i >> 9}`, substationId: 's-1', phase: 'A', nominalVoltage: 230, nominalFrequency: 50, readingIntervalMs: 1000 }));
  const store = EdgeStore.open({ dir, edgeId: 'bench', budgetBytes: 4 * 1024 ** 3, clock: systemClock, logger: silentLogger(), retainForReplay: true });
  try {
    const directory = new MeterDirectory('bench', new Topology(entries), { nominalVoltage: 230, nominalFrequency: 50, readingIntervalMs: 1000 });
    const detector = new Detector({ edgeId: 'bench', context: directory.context, clock: systemClock });
    const committer = new GroupCommitter(store, { maxDelayMs: 2, maxRecords: group });
    const intake = new Intake({
      edgeId: 'bench', substationId: 's-1', detector, committer, authorizer: new Authorizer({ allowAnonymous: true, credentials: {} }), clock: systemClock, meters: directory,
      unknownMeterPolicy: 'accept', bounds: { aheadTagMs: 5000, behindTagMs: 3_600_000, rejectAheadMs: 86_400_000, rejectBehindMs: 30 * 86_400_000 }, maxArrayReadings: 100, checkpoints: new RollingCheckpoints(detector),
    });
    const anon = { kind: 'anonymous' as const, id: 'anonymous' };
    // The simulator's values (simulator/generate.ts precision), pre-built so the loop measures the gateway.
    const topics = entries.map((e) => `meters/${e.meterId}/reading`);
    const t0 = Date.now() - Math.ceil(n / meters) * 1000;
    const payload = (i: number): Buffer => {
      const m = i % meters;
      const k = Math.floor(i / meters);
      const w = Math.sin(i * 0.7) * 0.8;
      return Buffer.from(JSON.stringify({ meterId: `m-${m}`, seq: k, ts: t0 + k * 1000, voltage: Math.round((230 + w) * 100) / 100, current: Math.round((12 + w) * 1000) / 1000, power: Math.round((2.7 + w / 10) * 1000) / 1000, frequency: Math.round((50 + w / 100) * 1000) / 1000, energyKwh: Math.round((1000 + m * 3.7 + k * 0.001) * 1000) / 1000 }));
    };
    const batch = 5000;
    const bufs = Array.from({ length: n }, (_, i) => payload(i));
    let accepted = 0;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let done = 0; done < n; done += batch) {
      await new Promise<void>((resolve) => {
        let left = batch;
        for (let i = 0; i < batch; i++) {
          intake.onPublish(anon, 'bench', topics[(done + i) % meters]!, bufs[done + i]!, (err) => {
            if (err) throw err;
            if (--left === 0) resolve();
          });
        }
        void committer.flush();
      });
      accepted += batch;
      // The forwarder's part: take what was committed and mark it acknowledged.
      for (let rows = store.peek('readings', 5000); rows.length > 0; rows = store.peek('readings', 5000)) store.removeRange('readings', rows[0]!.id, rows[rows.length - 1]!.id);
      for (let rows = store.peek('control', 5000); rows.length > 0; rows = store.peek('control', 5000)) store.removeRange('control', rows[0]!.id, rows[rows.length - 1]!.id);
    }
    const c = process.cpuUsage(c0);
    const wall = performance.now() - w0;
    return { cpuUsPerReading: Math.round(((c.user + c.system) / accepted) * 100) / 100, readingsPerSec: Math.round(accepted / (wall / 1000)), accepted: intake.counts.accepted };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n = 200_000, meters = 10_000, group = 500] = process.argv.slice(2).map(Number);
  for (let round = 0; round < 3; round++) console.log(JSON.stringify(await benchIntakePath(n, meters, group)));
}
