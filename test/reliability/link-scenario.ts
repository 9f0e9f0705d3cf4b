// One link-fault scenario from start to drained, and the figures it yields. Pure bookkeeping over
// what the real flood, edge and reader saw; the assertions are the caller's.
import { uniqueName } from '../harness/env.ts';
import { Flood, KafkaReader, sleep, startLinkEdge, type Arrival, type ProxiedKafka } from './link-rig.ts';

export interface LinkFault {
  apply: () => Promise<void>;
  clear: () => Promise<void>;
}

export interface LinkFigures {
  acked: number;
  lost: number;
  /** (meterId, seq) pairs seen with more than one readingId: what central's de-duplication would let through. */
  duplicatesAfterDedup: number;
  /** Records Kafka holds more than once (same readingId): at-least-once re-sends central drops. */
  resends: number;
  /** First deliveries of a meter that arrived with a lower seq than an earlier one. */
  outOfOrder: number;
  drainSeconds: number;
  /** First deliveries of readings during the fault, per second. */
  carriedPerSecond: number;
  probes: number;
  probesLost: number;
  /** PUBACK of a last gasp to its outage anomaly in Kafka, worst case over the run (seconds). */
  anomalyMaxSeconds: number;
  /** Heartbeat ts to its arrival in Kafka, worst case (seconds). */
  heartbeatMaxSeconds: number;
  heartbeats: number;
  /** Probes whose anomaly overtook readings PUBACKed before it (anomalies went first). */
  probesAhead: number;
  /** Readings PUBACKed during the fault. */
  ackedDuringFault: number;
  /** Worst time from PUBACK to Kafka of readings (seconds), to set beside the anomalies'. */
  readingMaxSeconds: number;
  /** Where the worst anomaly's and the worst heartbeat's time went (seconds): see Split. */
  anomalyWorst: Split | null;
  heartbeatWorst: Split | null;
  /** Worst time a record sat at the broker before this test's reader had it (seconds, ±0.5 s polls). */
  readerLagMaxSeconds: number;
  /** Times the test's reader joined its group (more than 1: it rebalanced and stalled meanwhile). */
  readerJoins: number;
  /** Seconds from the fault's start until the gateway's readiness first said Kafka not connected (null: it never did during the fault). */
  notConnectedAfterSeconds: number | null;
}

/**
 * One record's delay cut at its Kafka timestamp (when the edge encoded the produce request) and at
 * the first high-water-mark poll that saw it: edge = waiting in the gateway (outbox, lanes), link =
 * the request crossing the link to the broker, reader = at the broker until the test's consumer had it.
 */
export interface Split {
  edge: number;
  link: number;
  reader: number;
}

function split(from: number, a: Arrival, reader: KafkaReader): Split {
  const broker = reader.atBroker(a) ?? a.at;
  return { edge: (a.producedAt - from) / 1000, link: (broker - a.producedAt) / 1000, reader: (a.at - broker) / 1000 };
}

const showSplit = (s: Split | null): string => (s === null ? '–' : `edge ${s.edge.toFixed(1)} s + link ${s.link.toFixed(1)} s + reader ${s.reader.toFixed(1)} s`);

export async function runLinkFault(k: ProxiedKafka, o: { label: string; fault: LinkFault; faultMs: number; rate: number; meters: number; drainTimeoutMs?: number; edgeEnv?: Record<string, string> }): Promise<LinkFigures> {
  const name = uniqueName(o.label);
  const edge = await startLinkEdge(k, name, o.edgeEnv);
  const topics = { readings: `${edge.prefix}grid.readings`, anomalies: `${edge.prefix}grid.anomalies`, status: `${edge.prefix}grid.edge-status` };
  const reader = new KafkaReader(k.readerBrokers, Object.values(topics));
  const flood = new Flood({ url: edge.mqttUrl, label: name, meters: o.meters, rate: o.rate, probeEveryMs: 2000 });
  // Once a second: what waits in the gateway's lanes and the forwarder's readings batch (diagnosis, GRIDWATCH_LINK_TRACE=1).
  const trace: (string | number)[][] = [];
  let t0 = Date.now();
  let faultOn = false;
  let notConnectedAfterSeconds: number | null = null;
  const tracer = setInterval(() => {
    if (faultOn && notConnectedAfterSeconds === null && !edge.gateway.readiness().checks.kafkaConnected) notConnectedAfterSeconds = (Date.now() - t0) / 1000;
    const s = edge.gateway.forwarder.status();
    trace.push([((Date.now() - t0) / 1000).toFixed(0), edge.gateway.store.waitingIn('control'), edge.gateway.store.waitingIn('readings'), edge.gateway.forwarder.readingsLimit(), s.forwarded, s.errors]);
  }, 1000);
  try {
    await reader.start();
    await flood.start();
    await sleep(3000);
    const faultStart = (t0 = Date.now());
    await o.fault.apply();
    faultOn = true;
    await sleep(o.faultMs);
    faultOn = false;
    await o.fault.clear();
    const faultEnd = Date.now();
    await sleep(2000);
    await flood.stop();
    // Drained: every PUBACKed reading and every acked probe's anomaly is in Kafka (bounded wait).
    const deadline = Date.now() + (o.drainTimeoutMs ?? 120_000);
    const missing = (): number => {
      const seen = new Set(reader.of(topics.readings).map((a) => `${String(a.value.meterId)}:${String(a.value.seq)}`));
      const opened = new Set(reader.of(topics.anomalies).map((a) => String(a.value.meterId)));
      let n = 0;
      for (const id of flood.acked.keys()) if (!seen.has(id)) n++;
      for (const p of flood.probes) if (!opened.has(p.meterId)) n++;
      return n;
    };
    while (missing() > 0 && Date.now() < deadline) await sleep(200);
    await sleep(1000); // late re-sends
    const f = { ...figures(flood, reader, topics, faultStart, faultEnd), notConnectedAfterSeconds };
    console.log(`[link ${o.label}] ${describeSplits(f)}; forwarder ${JSON.stringify(edge.gateway.forwarder.status())}`);
    if (process.env.GRIDWATCH_LINK_TRACE) console.log(`[link ${o.label}] trace (s since fault, control waiting, readings waiting, readings limit, forwarded, errors): ${trace.map((x) => x.join(' ')).join(' | ')}`);
    return f;
  } finally {
    clearInterval(tracer);
    await flood.stop().catch(() => undefined);
    await reader.stop().catch(() => undefined);
    await edge.stop().catch(() => undefined);
  }
}

function figures(flood: Flood, reader: KafkaReader, topics: { readings: string; anomalies: string; status: string }, faultStart: number, faultEnd: number): Omit<LinkFigures, 'notConnectedAfterSeconds'> {
  // When a record was in Kafka: the first high-water-mark poll past it (the reader's own arrival
  // when no poll saw it), so a stalled test consumer does not count as a slow edge.
  const inKafka = (a: Arrival): number => reader.atBroker(a) ?? a.at;
  const readings = reader.of(topics.readings);
  const anomalies = reader.of(topics.anomalies);
  const status = reader.of(topics.status);
  const first = new Map<string, Arrival>();
  const idsOf = new Map<string, Set<string>>();
  const lastSeq = new Map<string, number>();
  let resends = 0;
  let outOfOrder = 0;
  const seenIds = new Set<string>();
  for (const a of readings) {
    const key = `${String(a.value.meterId)}:${String(a.value.seq)}`;
    const rid = String(a.value.readingId);
    if (seenIds.has(rid)) resends++;
    seenIds.add(rid);
    let ids = idsOf.get(key);
    if (!ids) idsOf.set(key, (ids = new Set()));
    ids.add(rid);
    if (first.has(key)) continue;
    first.set(key, a);
    const m = String(a.value.meterId);
    const s = Number(a.value.seq);
    if (s < (lastSeq.get(m) ?? -1)) outOfOrder++;
    lastSeq.set(m, Math.max(s, lastSeq.get(m) ?? -1));
  }
  let lost = 0;
  let lastNeeded = faultEnd;
  let readingMax = 0;
  for (const [id, ackedAt] of flood.acked) {
    const a = first.get(id);
    if (!a) {
      lost++;
      continue;
    }
    // Drained: what was PUBACKed before the link came back is in Kafka (the flood goes on after).
    if (ackedAt <= faultEnd) lastNeeded = Math.max(lastNeeded, inKafka(a));
    readingMax = Math.max(readingMax, inKafka(a) - ackedAt);
  }
  const openedBy = new Map<string, Arrival>();
  for (const a of anomalies) if (a.value.state === 'open' && !openedBy.has(String(a.value.meterId))) openedBy.set(String(a.value.meterId), a);
  const opened = new Map([...openedBy].map(([m, a]) => [m, inKafka(a)]));
  const firstAt = new Map([...first].map(([id, a]) => [id, inKafka(a)]));
  let anomalyMax = 0;
  let anomalyWorst: Split | null = null;
  let probesLost = 0;
  let probesAhead = 0;
  for (const p of flood.probes) {
    const at = opened.get(p.meterId);
    if (at === undefined) {
      probesLost++;
      continue;
    }
    if (p.ackedAt <= faultEnd) lastNeeded = Math.max(lastNeeded, at);
    if (at - p.ackedAt >= anomalyMax) anomalyWorst = split(p.ackedAt, openedBy.get(p.meterId)!, reader);
    anomalyMax = Math.max(anomalyMax, at - p.ackedAt);
    // Went first: some reading PUBACKed before this last gasp reached Kafka after its anomaly.
    for (const [id, ackedAt] of flood.acked) {
      if (ackedAt < p.ackedAt && (firstAt.get(id) ?? Infinity) > at) {
        probesAhead++;
        break;
      }
    }
  }
  const during = [...firstAt.values()].filter((t) => t >= faultStart && t <= faultEnd).length;
  const beats = status.filter((a) => Number(a.value.ts) >= faultStart - 5000);
  const worstBeat = beats.reduce<Arrival | null>((w, a) => (w === null || inKafka(a) - Number(a.value.ts) > inKafka(w) - Number(w.value.ts) ? a : w), null);
  let readerLagMax = 0;
  for (const a of reader.arrivals) {
    const b = reader.atBroker(a);
    if (b !== null) readerLagMax = Math.max(readerLagMax, a.at - b);
  }
  return {
    acked: flood.acked.size,
    lost,
    duplicatesAfterDedup: [...idsOf.values()].filter((s) => s.size > 1).length,
    resends,
    outOfOrder,
    drainSeconds: (lastNeeded - faultEnd) / 1000,
    carriedPerSecond: during / ((faultEnd - faultStart) / 1000),
    probes: flood.probes.length,
    probesLost,
    anomalyMaxSeconds: anomalyMax / 1000,
    heartbeatMaxSeconds: Math.max(0, ...beats.map((a) => inKafka(a) - Number(a.value.ts))) / 1000,
    heartbeats: beats.length,
    probesAhead,
    readingMaxSeconds: readingMax / 1000,
    anomalyWorst,
    heartbeatWorst: worstBeat === null ? null : split(Number(worstBeat.value.ts), worstBeat, reader),
    readerLagMaxSeconds: readerLagMax / 1000,
    readerJoins: reader.joins,
    ackedDuringFault: [...flood.acked.values()].filter((t) => t >= faultStart && t <= faultEnd).length,
  };
}

export const describeFigures = (f: LinkFigures): string =>
  `${f.acked} PUBACKed (${f.ackedDuringFault} during the fault); drain ${f.drainSeconds.toFixed(1)} s; carried ${Math.round(f.carriedPerSecond)} readings/s during the fault; ` +
  `anomaly max ${f.anomalyMaxSeconds.toFixed(1)} s (${f.probesAhead}/${f.probes} ahead of older readings), heartbeat max ${f.heartbeatMaxSeconds.toFixed(1)} s, reading max ${f.readingMaxSeconds.toFixed(1)} s; ` +
  `${f.outOfOrder} out of order; ${f.resends} re-sends dropped by readingId` +
  (f.notConnectedAfterSeconds === null ? '' : `; readiness said Kafka not connected ${f.notConnectedAfterSeconds.toFixed(0)} s into the fault`);

/** The worst anomaly's and heartbeat's delay, cut where it was spent (for the long rows' notes). */
export const describeSplits = (f: LinkFigures): string => `worst anomaly ${showSplit(f.anomalyWorst)}, worst heartbeat ${showSplit(f.heartbeatWorst)}; reader lag max ${f.readerLagMaxSeconds.toFixed(1)} s, ${f.readerJoins} group join(s)`;

/** The faults of issue 14 item 1, as toxiproxy toxics on the edge's proxy. */
export function linkFaults(k: ProxiedKafka): Record<'latency' | 'bandwidth64k' | 'cutReset' | 'cutTimeout' | 'halfOpen', LinkFault & { fault: string }> {
  const p = k.proxy;
  return {
    latency: {
      fault: 'toxiproxy latency 800 ms ± 200 ms (Kafka→edge)',
      apply: async () => void (await p.addToxic({ name: 'latency', type: 'latency', stream: 'downstream', attributes: { latency: 800, jitter: 200 } })),
      clear: () => p.heal(),
    },
    bandwidth64k: {
      fault: 'toxiproxy bandwidth 8 KB/s (64 kbit/s) each way',
      apply: async () => {
        await p.addToxic({ name: 'bw-up', type: 'bandwidth', stream: 'upstream', attributes: { rate: 8 } });
        await p.addToxic({ name: 'bw-down', type: 'bandwidth', stream: 'downstream', attributes: { rate: 8 } });
      },
      clear: () => p.heal(),
    },
    // Disabled, toxiproxy closes the connections and refuses new ones: the peer sees a reset.
    cutReset: { fault: 'link cut, reset (proxy disabled: connections closed, new ones refused)', apply: async () => void (await p.setEnabled(false)), clear: () => p.heal() },
    // Data stops, each connection is closed 5 s later; new connections are accepted and go the same way.
    cutTimeout: {
      fault: 'link cut, timeout (toxiproxy timeout 5 s: data stops, connections closed after 5 s)',
      apply: async () => void (await p.addToxic({ name: 'cut', type: 'timeout', stream: 'upstream', attributes: { timeout: 5000 } })),
      clear: () => p.heal(),
    },
    // Half-open: every byte black-holed both ways, no connection ever closed (no FIN, no RST).
    halfOpen: {
      fault: 'half-open link (toxiproxy timeout 0 both ways: black-holed, never closed)',
      apply: async () => {
        await p.addToxic({ name: 'hole-up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
        await p.addToxic({ name: 'hole-down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
      },
      clear: () => p.heal(),
    },
  };
}
