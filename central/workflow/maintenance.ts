// Maintenance windows (planned outages), kept from the compacted grid.maintenance: the latest
// record per window id, a tombstone removes it. An event is planned when it starts inside a
// window whose device is the event's root or above it (a feeder's window covers its transformers
// and meters). Pure; the topology is the registry's, read at the moment of asking.
import type { DeviceLevel, GridEvent, MaintenanceWindow, Topology } from '../../shared/index.ts';

const RANK: Record<GridEvent['scope'], number> = { meter: 0, transformer: 1, feeder: 2, substation: 3, grid: 4 };

/** Windows kept at most (each one is small; a deployment plans far fewer). */
export const MAX_WINDOWS = 10_000;

export class MaintenanceBook {
  private readonly windows = new Map<string, MaintenanceWindow>();

  /** The latest record of a window, or its removal (null: the tombstone). */
  apply(windowId: string, w: MaintenanceWindow | null): void {
    if (w === null) {
      this.windows.delete(windowId);
      return;
    }
    this.windows.delete(windowId);
    this.windows.set(windowId, w);
    if (this.windows.size > MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value as string);
  }

  get(windowId: string): MaintenanceWindow | undefined {
    return this.windows.get(windowId);
  }

  /** Windows that overlap [from, to] (all without bounds), earliest first. */
  list(f: { from?: number; to?: number; level?: DeviceLevel; id?: string } = {}): MaintenanceWindow[] {
    return [...this.windows.values()]
      .filter((w) => (f.from === undefined || w.to >= f.from) && (f.to === undefined || w.from <= f.to))
      .filter((w) => (f.level === undefined || w.device.level === f.level) && (f.id === undefined || w.device.id === f.id))
      .sort((a, b) => a.from - b.from || a.windowId.localeCompare(b.windowId));
  }

  get size(): number {
    return this.windows.size;
  }

  /** The window an event falls in, if any: started inside it, at or under its device. */
  covering(e: GridEvent, topology: Topology): MaintenanceWindow | undefined {
    if (e.scope === 'grid' || this.windows.size === 0) return undefined;
    // Any meter under the event's root gives the chain of devices above it.
    const meter = e.scope === 'meter' ? e.rootId : (e.affectedMeters[0] ?? topology.metersUnder(e.scope, e.rootId).values().next().value);
    const entry = meter === undefined ? undefined : topology.meter(meter);
    const chain: Record<DeviceLevel, string | undefined> = {
      meter: e.scope === 'meter' ? e.rootId : undefined,
      transformer: e.scope === 'transformer' ? e.rootId : entry?.transformerId,
      feeder: e.scope === 'feeder' ? e.rootId : entry?.feederId,
      substation: e.scope === 'substation' ? e.rootId : (entry?.substationId ?? e.substationId ?? undefined),
    };
    for (const w of this.windows.values()) {
      if (e.startTs < w.from || e.startTs > w.to) continue;
      if (RANK[w.device.level] < RANK[e.scope]) continue; // a meter's window does not cover its transformer's outage
      if (chain[w.device.level] === w.device.id) return w;
    }
    return undefined;
  }

  /** The event, marked `planned: true` when a window covers it. */
  mark(e: GridEvent, topology: Topology): GridEvent {
    return this.covering(e, topology) ? { ...e, planned: true } : e;
  }
}
