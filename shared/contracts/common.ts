import { Type } from '@sinclair/typebox';

/**
 * Building blocks shared by the version-1 contracts. Identifiers are restricted to characters
 * that are safe in MQTT topics, Kafka keys, S3 keys and InfluxDB tags alike, so an id that is
 * accepted at the edge never breaks a sink further on.
 */
export const CONTRACT_VERSION = 1;

export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
export const Id = (description: string) => Type.String({ pattern: ID_PATTERN, description });

export const MeterId = Id('Meter identifier (1-64 chars: letters, digits, . _ : -)');
export const EdgeId = Id('Edge gateway identifier');
export const SubstationId = Id('Substation identifier');
export const FeederId = Id('Feeder identifier');
export const TransformerId = Id('Distribution transformer identifier');

/** Epoch milliseconds. Bounds keep out values that are not timestamps at all (seconds, garbage). */
export const EpochMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'Epoch milliseconds (UTC)' });

/** What a sender may put in `ts`: epoch milliseconds or an ISO-8601 date-time. */
export const TimestampIn = Type.Union([EpochMs, Type.String({ format: 'date-time', maxLength: 40 })], {
  description: 'Event time: epoch milliseconds or ISO-8601 date-time',
});

export const Severity = Type.Union([Type.Literal('info'), Type.Literal('minor'), Type.Literal('major'), Type.Literal('critical')], {
  description: 'info < minor < major < critical',
});

export const Scope = Type.Union(
  [Type.Literal('meter'), Type.Literal('transformer'), Type.Literal('feeder'), Type.Literal('substation'), Type.Literal('grid')],
  { description: 'Level of the grid topology an event is attributed to' },
);

export const OpenClosed = Type.Union([Type.Literal('open'), Type.Literal('closed')]);

/** A finite measurement; JSON cannot carry NaN, but 1e999 parses to Infinity and is rejected here. */
export const Measurement = (description: string, min = -1e9, max = 1e9) => Type.Number({ minimum: min, maximum: max, description });

export const NullableString = (description: string) => Type.Union([Type.String({ maxLength: 64 }), Type.Null()], { description });
