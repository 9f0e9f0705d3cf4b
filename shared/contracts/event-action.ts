import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id } from './common.ts';

/** Bounds of what an operator writes: a note's text, an assignee's name, a principal's name. */
export const MAX_NOTE_CHARS = 2000;
export const MAX_ASSIGNEE_CHARS = 100;
export const MAX_REASON_CHARS = 500;

/** Who did it: the authenticated principal of the API request (its kind, id and role). */
export const Actor = Type.Object(
  {
    kind: Type.String({ maxLength: 20, description: 'api-key, oidc or none (authentication off)' }),
    id: Type.String({ maxLength: 200 }),
    name: Type.String({ maxLength: 200 }),
    role: Type.String({ maxLength: 20 }),
  },
  { additionalProperties: true },
);
export type Actor = Static<typeof Actor>;

export const EventActionType = Type.Union([Type.Literal('acknowledge'), Type.Literal('unacknowledge'), Type.Literal('assign'), Type.Literal('note')]);
export type EventActionType = Static<typeof EventActionType>;

/**
 * `grid.event-actions` (key: eventId): what an operator did to a grid event, the audit trail.
 * Written (acks=all) before the API answers; every central instance reads the topic whole, so
 * each one, and a restarted one, shows the same acknowledgement, assignee and notes.
 * `actionId` is the record's identity: a retry with the same idempotency key has the same id and
 * is applied once.
 */
export const EventAction = Type.Object(
  {
    actionId: Type.String({ maxLength: 200 }),
    eventId: Type.String({ maxLength: 200 }),
    action: EventActionType,
    by: Actor,
    at: EpochMs,
    assignee: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ASSIGNEE_CHARS, description: 'A crew or person (assign)' })),
    text: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NOTE_CHARS, description: 'The note (note), or a remark with any action' })),
    idempotencyKey: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { $id: 'gridwatch/v1/event-action', title: 'EventAction', additionalProperties: true },
);
export type EventAction = Static<typeof EventAction>;

export const DeviceLevel = Type.Union([Type.Literal('meter'), Type.Literal('transformer'), Type.Literal('feeder'), Type.Literal('substation')], {
  description: 'Level of the device a maintenance window covers (it and everything under it)',
});
export type DeviceLevel = Static<typeof DeviceLevel>;

/**
 * `grid.maintenance` (compacted, key: windowId; a null value, the tombstone, cancels): a planned
 * outage. Events that start inside [from, to] at or under the device are raised with
 * `planned: true` and not notified (IEEE 1366 counts planned interruptions apart).
 */
export const MaintenanceWindow = Type.Object(
  {
    windowId: Id('Maintenance window identifier'),
    device: Type.Object({ level: DeviceLevel, id: Id('Device id (meter, transformer, feeder or substation)') }, { additionalProperties: false }),
    from: EpochMs,
    to: EpochMs,
    reason: Type.String({ minLength: 1, maxLength: MAX_REASON_CHARS }),
    createdBy: Actor,
    createdAt: EpochMs,
    updatedBy: Type.Optional(Actor),
    updatedAt: Type.Optional(EpochMs),
  },
  { $id: 'gridwatch/v1/maintenance-window', title: 'MaintenanceWindow', additionalProperties: true },
);
export type MaintenanceWindow = Static<typeof MaintenanceWindow>;
