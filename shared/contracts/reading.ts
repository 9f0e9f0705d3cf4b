import { Type, type Static } from '@sinclair/typebox';
import { EdgeId, EpochMs, FeederId, Measurement, MeterId, SubstationId, TimestampIn, TransformerId } from './common.ts';

/**
 * A meter reading as meters and concentrators send it (MQTT `meters/{meterId}/reading`, or an
 * element of the array on `concentrators/{id}/readings`). Unknown fields are kept but not trusted.
 */
export const Reading = Type.Object(
  {
    meterId: MeterId,
    ts: TimestampIn,
    seq: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Increasing per meter' })),
    voltage: Measurement('RMS voltage, V', 0, 1_000_000),
    current: Type.Optional(Measurement('RMS current, A', -100_000, 100_000)),
    power: Type.Optional(Measurement('Active power, kW (negative = export)')),
    reactivePower: Type.Optional(Measurement('Reactive power, kvar')),
    powerFactor: Type.Optional(Measurement('Power factor', -1, 1)),
    frequency: Type.Optional(Measurement('Frequency, Hz', 0, 1000)),
    energy: Type.Optional(Measurement('Energy register, kWh', 0, 1e12)),
  },
  { $id: 'gridwatch/v1/reading', title: 'Reading', additionalProperties: true },
);
export type Reading = Static<typeof Reading>;

/** Tags the edge sets on a reading it forwards instead of dropping it. */
export const ReadingFlag = Type.Union([
  Type.Literal('clock_ahead'),
  Type.Literal('clock_behind'),
  Type.Literal('late'),
  Type.Literal('out_of_order'),
  Type.Literal('duplicate_seq'),
  Type.Literal('unassigned'),
]);
export type ReadingFlag = Static<typeof ReadingFlag>;

/** The value on `grid.readings` (key: meterId): the reading plus where and when the edge saw it. */
export const ForwardedReading = Type.Object(
  {
    ...Reading.properties,
    ts: EpochMs,
    readingId: Type.String({ maxLength: 160, description: 'Stable identity: meterId:seq, or meterId:h:<content hash> without seq' }),
    edgeId: EdgeId,
    substationId: Type.Union([SubstationId, Type.Null()]),
    feederId: Type.Union([FeederId, Type.Null()]),
    transformerId: Type.Union([TransformerId, Type.Null()]),
    receivedAt: EpochMs,
    flags: Type.Optional(Type.Array(ReadingFlag, { maxItems: 8 })),
  },
  { $id: 'gridwatch/v1/forwarded-reading', title: 'ForwardedReading', additionalProperties: true },
);
export type ForwardedReading = Static<typeof ForwardedReading>;
