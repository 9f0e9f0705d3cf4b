import { Type, type Static } from '@sinclair/typebox';
import { EdgeId, EpochMs, SubstationId } from './common.ts';

/** `grid.edge-status` (key: edgeId): the gateway's heartbeat. Central treats silence as comms loss. */
export const EdgeStatus = Type.Object(
  {
    edgeId: EdgeId,
    substationId: Type.Union([SubstationId, Type.Null()]),
    ts: EpochMs,
    startedAt: EpochMs,
    outbox: Type.Object({
      depth: Type.Integer({ minimum: 0 }),
      bytes: Type.Integer({ minimum: 0 }),
      oldestAgeMs: Type.Integer({ minimum: 0 }),
    }),
    gaps: Type.Object({
      records: Type.Integer({ minimum: 0, description: 'Gap records written since start' }),
      readings: Type.Integer({ minimum: 0, description: 'Readings covered by those gaps' }),
    }),
    rates: Type.Object({
      acceptedPerSec: Type.Number({ minimum: 0 }),
      rejectedPerSec: Type.Number({ minimum: 0 }),
      forwardedPerSec: Type.Number({ minimum: 0 }),
    }),
    clock: Type.Object({
      state: Type.Union([Type.Literal('ok'), Type.Literal('skewed'), Type.Literal('unknown')]),
      medianSkewMs: Type.Union([Type.Number(), Type.Null()], { description: 'Median of receivedAt - ts over recent readings' }),
    }),
    meters: Type.Integer({ minimum: 0, description: 'Meters seen since start' }),
    version: Type.String({ maxLength: 32 }),
  },
  { $id: 'gridwatch/v1/edge-status', title: 'EdgeStatus', additionalProperties: true },
);
export type EdgeStatus = Static<typeof EdgeStatus>;
