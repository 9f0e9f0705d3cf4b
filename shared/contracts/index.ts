/**
 * The version-1 wire contracts. Each contract is one TypeBox schema: the TypeScript type, the
 * compiled runtime validator and the published JSON Schema (contracts/v1/*.schema.json) all come
 * from it.
 */
import { Validator } from './validate.ts';
import { Reading, ForwardedReading } from './reading.ts';
import { MeterEvent } from './meter-event.ts';
import { Anomaly } from './anomaly.ts';
import { GridEvent } from './grid-event.ts';
import { EdgeStatus } from './edge-status.ts';
import { Gap } from './gap.ts';
import { TopologyEntry } from './topology.ts';
import { EventAction, MaintenanceWindow } from './event-action.ts';

export * from './common.ts';
export * from './reading.ts';
export * from './meter-event.ts';
export * from './anomaly.ts';
export * from './grid-event.ts';
export * from './edge-status.ts';
export * from './gap.ts';
export * from './topology.ts';
export * from './validate.ts';
export * from './event-action.ts';

export const validators = {
  reading: new Validator(Reading),
  forwardedReading: new Validator(ForwardedReading),
  meterEvent: new Validator(MeterEvent),
  anomaly: new Validator(Anomaly),
  gridEvent: new Validator(GridEvent),
  edgeStatus: new Validator(EdgeStatus),
  gap: new Validator(Gap),
  topologyEntry: new Validator(TopologyEntry),
  eventAction: new Validator(EventAction),
  maintenanceWindow: new Validator(MaintenanceWindow),
} as const;

/** Published schemas, by file name under contracts/v1/. */
export const publishedSchemas = {
  'reading.schema.json': Reading,
  'forwarded-reading.schema.json': ForwardedReading,
  'meter-event.schema.json': MeterEvent,
  'anomaly.schema.json': Anomaly,
  'grid-event.schema.json': GridEvent,
  'edge-status.schema.json': EdgeStatus,
  'gap.schema.json': Gap,
  'topology-entry.schema.json': TopologyEntry,
  'event-action.schema.json': EventAction,
  'maintenance-window.schema.json': MaintenanceWindow,
} as const;

/** Kafka topic names of the v1 contract. */
export const TOPICS = {
  readings: 'grid.readings',
  anomalies: 'grid.anomalies',
  events: 'grid.events',
  edgeStatus: 'grid.edge-status',
  topology: 'grid.topology',
  gaps: 'grid.gaps',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];
