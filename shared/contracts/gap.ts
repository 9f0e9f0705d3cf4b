import { Type, type Static } from '@sinclair/typebox';
import { EdgeId, EpochMs, MeterId } from './common.ts';

/**
 * `grid.gaps` (key: edgeId): a range of one meter's readings that will never arrive, with why,
 * so that central never confuses loss with silence.
 */
export const Gap = Type.Object(
  {
    gapId: Type.String({ maxLength: 200 }),
    edgeId: EdgeId,
    meterId: MeterId,
    reason: Type.Union([Type.Literal('evicted'), Type.Literal('rejected')]),
    detail: Type.String({ maxLength: 256 }),
    fromTs: EpochMs,
    toTs: EpochMs,
    fromSeq: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    toSeq: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    count: Type.Integer({ minimum: 1 }),
    recordedAt: EpochMs,
  },
  { $id: 'gridwatch/v1/gap', title: 'Gap', additionalProperties: true },
);
export type Gap = Static<typeof Gap>;
