// What the aggregator needs from the correlator (central/correlate, a pure core). Kept as a port
// so that the flows read on their own and the hand-over tests can pass their small correlator.
import type { Anomaly, Clock, EdgeStatus, Gap, GridEvent, Topology } from '../../shared/index.ts';
import { Correlator, type SubstationState } from '../correlate/index.ts';

export interface CorrelatorPort {
  onAnomaly(a: Anomaly): GridEvent[];
  onEdgeStatus(s: EdgeStatus): GridEvent[];
  onGap(g: Gap): void;
  tick(): GridEvent[];
  openEvents(): GridEvent[];
  stats(): object;
  exportState(substationId: string): unknown;
  importState(s: SubstationState): void;
  dropSubstation(substationId: string): void;
}

export type CorrelatorFactory = (opts: { topology: Topology; clock: Clock; config?: Record<string, unknown> }) => CorrelatorPort;

/** The real correlator. */
export const realCorrelator: CorrelatorFactory = (opts) => new Correlator(opts as ConstructorParameters<typeof Correlator>[0]);
