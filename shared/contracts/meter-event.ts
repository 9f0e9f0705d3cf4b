import { Type, type Static } from '@sinclair/typebox';
import { MeterId, TimestampIn } from './common.ts';

/** `meters/{meterId}/event`. A last gasp is sent when voltage has been near zero for 30-45 s. */
export const MeterEventType = Type.Union([
  Type.Literal('last_gasp'),
  Type.Literal('power_restored'),
  Type.Literal('tamper'),
  Type.Literal('cover_open'),
  Type.Literal('magnet'),
  Type.Literal('clock_set'),
]);
export type MeterEventType = Static<typeof MeterEventType>;

export const MeterEvent = Type.Object(
  {
    meterId: MeterId,
    ts: TimestampIn,
    type: MeterEventType,
    seq: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    detail: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { $id: 'gridwatch/v1/meter-event', title: 'MeterEvent', additionalProperties: true },
);
export type MeterEvent = Static<typeof MeterEvent>;
