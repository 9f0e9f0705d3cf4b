// An archive written the way central writes it: forwarded readings of a small grid, keyed by
// meterId onto Kafka partitions with kafkajs' partitioner, through the real Archiver (and
// InfluxWriter when given) into a real sink. Shared by the history, replay and bench tests.
import { Archiver, type ArchiveSink, type InfluxWriter } from '../../../central/archive/index.ts';
import { partitionOf } from '../../../shared/kafka/partition.ts';
import { TOPICS, Topology, silentLogger, type ForwardedReading, type TopologyEntry } from '../../../shared/index.ts';

export const PARTITIONS = 4;

/** 2 substations x 2 feeders x `perFeeder` meters. */
export function smallGrid(perFeeder = 2): Topology {
  const entries: TopologyEntry[] = [];
  for (const s of ['S01', 'S02'])
    for (const f of [1, 2])
      for (let i = 0; i < perFeeder; i++)
        entries.push({ meterId: `${s}-F${f}-m${i}`, transformerId: `${s}-F${f}-T1`, feederId: `${s}-F${f}`, substationId: s, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 });
  return new Topology(entries);
}

export function readingOf(e: TopologyEntry, seq: number, ts: number): ForwardedReading {
  return {
    meterId: e.meterId,
    seq,
    ts,
    voltage: 220 + ((seq * 7 + e.meterId.length) % 21),
    power: 1 + (seq % 5) / 4,
    readingId: `${e.meterId}:${seq}`,
    edgeId: `edge-${e.substationId}`,
    substationId: e.substationId,
    feederId: e.feederId,
    transformerId: e.transformerId,
    receivedAt: ts + 40,
  };
}

export interface ArchiveRun {
  readings: number;
  objects: number;
}

/**
 * Archives `seconds` of 1 s readings from `from` for the given meters (all of `topology` by
 * default), in Kafka batches of about `chunk` per partition, flushing every `flushEvery` records.
 */
export async function archiveReadings(sink: ArchiveSink, o: { topology: Topology; from: number; seconds: number; meters?: string[]; influx?: InfluxWriter; flushEvery?: number; stepMs?: number; topic?: string }): Promise<ArchiveRun> {
  const meters = (o.meters ?? [...o.topology.entries()].map((e) => e.meterId)).map((m) => o.topology.meter(m)!);
  const archiver = new Archiver({ sink, logger: silentLogger(), maxRecords: o.flushEvery ?? 20_000, maxAgeMs: 1e12, ...(o.influx ? { influx: o.influx } : {}) });
  const offsets = new Array<number>(PARTITIONS).fill(0);
  const part = new Map(meters.map((m) => [m.meterId, partitionOf(m.meterId, PARTITIONS)]));
  let readings = 0;
  const step = o.stepMs ?? 1000;
  const CHUNK_S = 600;
  for (let s0 = 0; s0 < o.seconds; s0 += CHUNK_S) {
    const perPartition: string[][] = Array.from({ length: PARTITIONS }, () => []);
    for (let s = s0; s < Math.min(o.seconds, s0 + CHUNK_S); s++) for (const m of meters) perPartition[part.get(m.meterId)!]!.push(JSON.stringify(readingOf(m, s, o.from + s * step)));
    for (let p = 0; p < PARTITIONS; p++) {
      const values = perPartition[p]!;
      if (values.length === 0) continue;
      archiver.add({ topic: o.topic ?? TOPICS.readings, partition: p, messages: values.map((value, j) => ({ offset: String(offsets[p]! + j), timestamp: String(o.from), key: null, value })) });
      offsets[p]! += values.length;
      readings += values.length;
    }
    await archiver.flushDue();
  }
  await archiver.flushAll();
  const objects = (await sink.list('readings/')).length;
  return { readings, objects };
}

export { silentLogger };
