// The topology registry: one Topology object, loaded from a file at start and kept current by
// grid.topology (compacted, key meterId, a null value deletes the meter). The correlator holds the
// same object, so an update is seen by the next anomaly without any copy.
import { formatProblems, loadTopologyFile, Topology, validators, type Logger, type Metrics, type TopologyEntry } from '../../shared/index.ts';
import type { Counter } from 'prom-client';

export interface TopologySummary {
  meters: number;
  transformers: number;
  feeders: number;
  substations: number;
  updates: number;
  rejected: number;
  source: { file: string | null; fileMeters: number; topicRecords: number };
}

export interface SubstationDetail {
  substationId: string;
  meters: number;
  feeders: { feederId: string; meters: number; transformers: { transformerId: string; meters: number }[] }[];
}

export class TopologyRegistry {
  readonly topology: Topology;
  private readonly logger: Logger;
  private readonly file: string | null;
  private fileMeters = 0;
  private topicRecords = 0;
  private updates = 0;
  private rejected = 0;
  private readonly rejectedCounter: Counter | null;

  constructor(opts: { logger: Logger; metrics?: Metrics; file?: string; topology?: Topology }) {
    this.logger = opts.logger.child({ component: 'topology' });
    // The file's Topology is the registry's own unless one is handed in: indexing a million meters twice cost seconds.
    const loaded = opts.file ? loadTopologyFile(opts.file) : null;
    this.topology = opts.topology ?? loaded ?? new Topology();
    this.file = opts.file ?? null;
    this.rejectedCounter = opts.metrics?.counter('central_topology_rejected_total', 'grid.topology records that failed the v1 contract') ?? null;
    const topology = this.topology;
    opts.metrics?.gauge('central_topology_meters', 'Meters in the topology registry', [], function () {
      this.set(topology.size);
    });
    if (opts.file && loaded) {
      if (this.topology !== loaded) for (const e of loaded.entries()) this.topology.upsert(e);
      this.fileMeters = loaded.size;
      this.logger.info({ file: opts.file, meters: loaded.size }, 'topology file loaded');
    }
  }

  /** One grid.topology record. A tombstone (null value) removes the meter. Returns whether it changed anything. */
  applyRecord(key: string | null, value: string | null): boolean {
    this.topicRecords++;
    if (value === null || value === '') {
      if (key === null) return false;
      const removed = this.topology.remove(key);
      if (removed) this.updates++;
      return removed;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      this.reject(key, `not JSON: ${(err as Error).message}`);
      return false;
    }
    const result = validators.topologyEntry.validate(parsed);
    if (!result.ok) {
      this.reject(key, formatProblems(result.problems));
      return false;
    }
    if (key !== null && key !== result.value.meterId) {
      this.reject(key, `key ${key} differs from meterId ${result.value.meterId}`);
      return false;
    }
    this.upsert(result.value);
    return true;
  }

  upsert(entry: TopologyEntry): void {
    this.topology.upsert(entry);
    this.updates++;
  }

  private reject(key: string | null, reason: string): void {
    this.rejected++;
    this.rejectedCounter?.inc();
    // Logged per record: a bad topology record is rare and an operator must find it.
    this.logger.warn({ key, reason }, 'grid.topology record rejected');
  }

  summary(): TopologySummary {
    return {
      meters: this.topology.size,
      transformers: this.topology.ids('transformer').length,
      feeders: this.topology.ids('feeder').length,
      substations: this.topology.substations().length,
      updates: this.updates,
      rejected: this.rejected,
      source: { file: this.file, fileMeters: this.fileMeters, topicRecords: this.topicRecords },
    };
  }

  substation(substationId: string): SubstationDetail | null {
    const meters = this.topology.metersUnder('substation', substationId);
    if (meters.size === 0) return null;
    const feeders = new Map<string, Map<string, number>>();
    for (const m of meters) {
      const e = this.topology.meter(m);
      if (!e) continue;
      let tx = feeders.get(e.feederId);
      if (!tx) feeders.set(e.feederId, (tx = new Map()));
      tx.set(e.transformerId, (tx.get(e.transformerId) ?? 0) + 1);
    }
    return {
      substationId,
      meters: meters.size,
      feeders: [...feeders.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([feederId, tx]) => ({
          feederId,
          meters: [...tx.values()].reduce((n, c) => n + c, 0),
          transformers: [...tx.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([transformerId, n]) => ({ transformerId, meters: n })),
        })),
    };
  }
}
