// What the pipeline needs from the correlator (central/correlate, a pure core owned elsewhere).
// Kept as a port so that the pipeline's wiring reads on its own and tests can pass their own.
import type { Anomaly, Clock, EdgeStatus, Gap, GridEvent, Topology } from '../../shared/index.ts';

export interface CorrelatorPort {
  onAnomaly(a: Anomaly): GridEvent[];
  onEdgeStatus(s: EdgeStatus): GridEvent[];
  onGap(g: Gap): void;
  tick(): GridEvent[];
  openEvents(): GridEvent[];
  stats(): object;
  exportState(substationId: string): unknown;
  importState(s: never): void;
  dropSubstation(substationId: string): void;
}

export type CorrelatorFactory = (opts: { topology: Topology; clock: Clock; config?: Record<string, unknown> }) => CorrelatorPort;

/** The real correlator, loaded when the pipeline starts. */
export async function loadCorrelatorFactory(): Promise<CorrelatorFactory> {
  // A computed specifier: the pipeline type-checks against the port even before the module exists.
  const specifier = '../correlate/index.ts';
  const mod = (await import(specifier)) as { Correlator: new (opts: Parameters<CorrelatorFactory>[0]) => CorrelatorPort };
  return (opts) => new mod.Correlator(opts);
}
