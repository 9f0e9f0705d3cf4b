// A deliberately small correlator for the pipeline's integration tests: a transformer-scope sag
// event when 3 meters of one transformer have an open sag, growing as meters join, closing when
// none is left. Deterministic event ids and exportable state, like the real one; it lets the
// consumption and hand-over tests run on their own.
import type { Anomaly, GridEvent, Topology } from '../../../shared/index.ts';
import type { CorrelatorPort } from '../../../central/consume/correlator-port.ts';

interface TxState {
  meters: string[];
  event: GridEvent | null;
}
interface SubState {
  substationId: string;
  tx: Record<string, TxState>;
  seen: string[];
}

export class FakeCorrelator implements CorrelatorPort {
  private readonly subs = new Map<string, SubState>();
  constructor(private readonly opts: { topology: Topology }) {}

  private sub(id: string): SubState {
    let s = this.subs.get(id);
    if (!s) this.subs.set(id, (s = { substationId: id, tx: {}, seen: [] }));
    return s;
  }

  onAnomaly(a: Anomaly): GridEvent[] {
    const txId = a.transformerId ?? this.opts.topology.meter(a.meterId)?.transformerId;
    if (!a.substationId || !txId) return [];
    const s = this.sub(a.substationId);
    const id = `${a.anomalyId}|${a.state}`;
    if (s.seen.includes(id)) return [];
    s.seen.push(id);
    const t = (s.tx[txId] ??= { meters: [], event: null });
    if (a.state === 'open' && !t.meters.includes(a.meterId)) t.meters.push(a.meterId);
    if (a.state === 'closed') t.meters = t.meters.filter((m) => m !== a.meterId);
    const e = t.event;
    if (!e && t.meters.length >= 3) {
      t.event = { eventId: `sag:${txId}:${a.startTs}`, scope: 'transformer', rootId: txId, substationId: a.substationId, type: 'sag', severity: 'major', state: 'open', affectedMeters: [...t.meters], affectedCount: t.meters.length, startTs: a.startTs, endTs: null, updatedAt: a.detectedAt, version: 1 };
      return [t.event];
    }
    if (e && t.meters.length === 0) {
      t.event = null;
      return [{ ...e, state: 'closed', endTs: a.endTs ?? a.detectedAt, updatedAt: a.detectedAt, version: e.version + 1 }];
    }
    if (e && t.meters.length > e.affectedCount) {
      t.event = { ...e, affectedMeters: [...t.meters], affectedCount: t.meters.length, updatedAt: a.detectedAt, version: e.version + 1 };
      return [t.event];
    }
    return [];
  }
  onEdgeStatus(): GridEvent[] {
    return [];
  }
  onGap(): void {}
  tick(): GridEvent[] {
    return [];
  }
  openEvents(): GridEvent[] {
    return [...this.subs.values()].flatMap((s) => Object.values(s.tx).flatMap((t) => (t.event ? [t.event] : [])));
  }
  stats(): object {
    return { substations: this.subs.size };
  }
  exportState(substationId: string): unknown {
    return structuredClone(this.sub(substationId));
  }
  importState(s: unknown): void {
    const st = s as SubState;
    this.subs.set(st.substationId, structuredClone(st));
  }
  dropSubstation(substationId: string): void {
    this.subs.delete(substationId);
  }
}
