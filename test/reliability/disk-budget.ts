// Issue 14 item 2: a small outbox budget, the link cut, the flood going on. Counts what the real
// flood had PUBACKed against what Kafka holds on grid.readings and what grid.gaps declares lost.
import { uniqueName } from '../harness/env.ts';
import { Flood, KafkaReader, sleep, startLinkEdge, type ProxiedKafka } from './link-rig.ts';

export interface DiskBudgetFigures {
  acked: number;
  inKafka: number;
  /** PUBACKed readings not in Kafka. */
  evicted: number;
  gaps: number;
  gapTotal: number;
  /** Missing readings outside every gap range of their meter. */
  outsideGaps: number;
  /** Readings in Kafka that a gap range claims lost. */
  inKafkaInsideGaps: number;
  /** acked - inKafka - gapTotal (must be 0). */
  unaccounted: number;
  probes: number;
  anomalies: number;
  anomaliesMissing: number;
  duplicatesAfterDedup: number;
  drainSeconds: number;
}

export async function runDiskBudget(k: ProxiedKafka, o: { label: string; rate: number; meters: number; cutMs: number }): Promise<DiskBudgetFigures> {
  const name = uniqueName(o.label);
  // Budget enforcement after every group commit; the cron is only the back-stop.
  const edge = await startLinkEdge(k, name, { GRIDWATCH_DISK_BUDGET_BYTES: String(1_048_576) });
  const t = { readings: `${edge.prefix}grid.readings`, anomalies: `${edge.prefix}grid.anomalies`, gaps: `${edge.prefix}grid.gaps` };
  const reader = new KafkaReader(k.readerBrokers, Object.values(t));
  const flood = new Flood({ url: edge.mqttUrl, label: name, meters: o.meters, rate: o.rate, probeEveryMs: 2000 });
  try {
    await reader.start();
    await flood.start();
    await sleep(2000);
    await k.proxy.setEnabled(false);
    await sleep(o.cutMs);
    await flood.stop(); // the flood stops before the link returns, so the counts settle
    await k.proxy.heal();
    const healed = Date.now();
    const distinct = (): Set<string> => new Set(reader.of(t.readings).map((a) => `${String(a.value.meterId)}:${String(a.value.seq)}`));
    const gapTotal = (): number => reader.of(t.gaps).reduce((n, a) => n + Number(a.value.count), 0);
    const deadline = Date.now() + 120_000;
    let drainedAt = Date.now();
    while (Date.now() < deadline) {
      const opened = new Set(reader.of(t.anomalies).map((a) => String(a.value.meterId)));
      if (distinct().size + gapTotal() >= flood.acked.size && flood.probes.every((p) => opened.has(p.meterId))) {
        drainedAt = Math.max(0, ...reader.arrivals.map((a) => a.at));
        break;
      }
      await sleep(200);
    }
    await sleep(1500);
    const inKafka = distinct();
    const gaps = reader.of(t.gaps).map((a) => a.value);
    const ranges = new Map<string, [number, number][]>();
    for (const g of gaps) {
      const list = ranges.get(String(g.meterId)) ?? [];
      list.push([Number(g.fromSeq), Number(g.toSeq)]);
      ranges.set(String(g.meterId), list);
    }
    const inGap = (meterId: string, seq: number): boolean => (ranges.get(meterId) ?? []).some(([a, b]) => seq >= a && seq <= b);
    let evicted = 0;
    let outsideGaps = 0;
    for (const id of flood.acked.keys()) {
      if (inKafka.has(id)) continue;
      evicted++;
      const [meterId, seq] = splitId(id);
      if (!inGap(meterId, seq)) outsideGaps++;
    }
    let inKafkaInsideGaps = 0;
    for (const id of inKafka) {
      const [meterId, seq] = splitId(id);
      if (inGap(meterId, seq)) inKafkaInsideGaps++;
    }
    const byKey = new Map<string, Set<string>>();
    for (const a of reader.of(t.readings)) {
      const key = `${String(a.value.meterId)}:${String(a.value.seq)}`;
      byKey.set(key, (byKey.get(key) ?? new Set()).add(String(a.value.readingId)));
    }
    const opened = new Set(reader.of(t.anomalies).filter((a) => a.value.state === 'open').map((a) => String(a.value.meterId)));
    const total = gaps.reduce((n, g) => n + Number(g.count), 0);
    return {
      acked: flood.acked.size,
      inKafka: inKafka.size,
      evicted,
      gaps: gaps.length,
      gapTotal: total,
      outsideGaps,
      inKafkaInsideGaps,
      unaccounted: flood.acked.size - inKafka.size - total,
      probes: flood.probes.length,
      anomalies: opened.size,
      anomaliesMissing: flood.probes.filter((p) => !opened.has(p.meterId)).length,
      duplicatesAfterDedup: [...byKey.values()].filter((s) => s.size > 1).length,
      drainSeconds: (drainedAt - healed) / 1000,
    };
  } finally {
    await flood.stop().catch(() => undefined);
    await reader.stop().catch(() => undefined);
    await edge.stop().catch(() => undefined);
    await k.proxy.heal().catch(() => undefined);
  }
}

function splitId(id: string): [string, number] {
  const i = id.lastIndexOf(':');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}
