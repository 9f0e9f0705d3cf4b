import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, MeterId, OpenClosed, Scope, Severity, SubstationId } from './common.ts';
import { MAX_ASSIGNEE_CHARS, MAX_NOTE_CHARS } from './event-action.ts';

/** Notes shown with an event are the latest this many (the whole trail: GET /api/events/{id}/actions). */
export const MAX_EVENT_NOTES = 50;

export const GridEventType = Type.Union([
  Type.Literal('outage'),
  Type.Literal('sag'),
  Type.Literal('swell'),
  Type.Literal('undervoltage'),
  Type.Literal('overvoltage'),
  Type.Literal('frequency_deviation'),
  Type.Literal('overload'),
  Type.Literal('comms_loss'),
  Type.Literal('silence'),
  Type.Literal('meter_fault'),
  Type.Literal('tamper'),
  // v1-additive: a device whose meters went to interruption level and came back inside the
  // correlator's hold (IEEE 1366 counts these for MAIFI). Low severity, published open and closed.
  Type.Literal('momentary'),
]);
export type GridEventType = Static<typeof GridEventType>;

/** Affected meter ids are listed up to this bound; `affectedCount` is always exact. */
export const MAX_LISTED_METERS = 1000;

/**
 * `grid.events` (key: substationId, or `grid` for grid-wide events). An event is re-published
 * every time it changes; `version` increases with each publication, so consumers keep the
 * highest version per eventId.
 */
export const GridEvent = Type.Object(
  {
    eventId: Type.String({ maxLength: 200 }),
    scope: Scope,
    rootId: Type.String({ maxLength: 64, description: 'Id of the device at `scope` the event is attributed to' }),
    substationId: Type.Union([SubstationId, Type.Null()]),
    type: GridEventType,
    severity: Severity,
    state: OpenClosed,
    affectedMeters: Type.Array(MeterId, { maxItems: MAX_LISTED_METERS }),
    affectedCount: Type.Integer({ minimum: 0 }),
    startTs: EpochMs,
    endTs: Type.Union([EpochMs, Type.Null()]),
    updatedAt: EpochMs,
    version: Type.Integer({ minimum: 1 }),
    summary: Type.Optional(Type.String({ maxLength: 500 })),
    // v1-additive: meters the topology records under another device that joined this event (a
    // likely wrong meter-to-transformer record); they are also in affectedMeters and affectedCount.
    adoptedMeters: Type.Optional(Type.Array(MeterId, { maxItems: MAX_LISTED_METERS, description: 'Meters labelled under another transformer that were adopted into this event (also in affectedMeters)' })),
    // v1-additive: inside a maintenance window at or over its root device (grid.maintenance); not
    // notified, and counted apart by the reliability indices (IEEE 1366 planned interruptions).
    planned: Type.Optional(Type.Boolean({ description: 'Raised inside a maintenance window (a planned outage)' })),
    // v1-additive: the operators' workflow (grid.event-actions), as central shows the event.
    acknowledged: Type.Optional(Type.Object({ by: Type.String({ maxLength: 200 }), at: EpochMs }, { description: 'Who acknowledged the event, and when' })),
    assignee: Type.Optional(Type.String({ maxLength: MAX_ASSIGNEE_CHARS, description: 'The crew or person the event is assigned to' })),
    notes: Type.Optional(Type.Array(Type.Object({ by: Type.String({ maxLength: 200 }), at: EpochMs, text: Type.String({ maxLength: MAX_NOTE_CHARS }) }), { maxItems: MAX_EVENT_NOTES, description: 'Operators\' notes, oldest first' })),
  },
  { $id: 'gridwatch/v1/grid-event', title: 'GridEvent', additionalProperties: true },
);
export type GridEvent = Static<typeof GridEvent>;
