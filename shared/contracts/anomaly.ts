import { Type, type Static } from '@sinclair/typebox';
import { EdgeId, EpochMs, FeederId, MeterId, OpenClosed, Severity, SubstationId, TransformerId } from './common.ts';

export const AnomalyType = Type.Union([
  Type.Literal('spike'),
  Type.Literal('dip'),
  Type.Literal('stuck'),
  Type.Literal('drift'),
  Type.Literal('dropout'),
  Type.Literal('sag'),
  Type.Literal('swell'),
  Type.Literal('interruption'),
  Type.Literal('undervoltage'),
  Type.Literal('overvoltage'),
  Type.Literal('frequency_deviation'),
  Type.Literal('overcurrent'),
  Type.Literal('outage'),
  Type.Literal('tamper'),
  // v1-additive (issue 11): a learned scorer's finding, a change of pattern rather than a crossed limit.
  Type.Literal('pattern'),
]);
export type AnomalyType = Static<typeof AnomalyType>;

export const Channel = Type.Union([Type.Literal('voltage'), Type.Literal('current'), Type.Literal('power'), Type.Literal('frequency'), Type.Literal('none')]);
export type Channel = Static<typeof Channel>;

/**
 * `grid.anomalies` (key: substationId). One record with state `open` when a condition starts and
 * one with state `closed` when it ends; both carry the same anomalyId. The pair (anomalyId, state)
 * is the record's identity for de-duplication.
 */
export const Anomaly = Type.Object(
  {
    anomalyId: Type.String({ maxLength: 200 }),
    edgeId: EdgeId,
    meterId: MeterId,
    substationId: Type.Union([SubstationId, Type.Null()]),
    feederId: Type.Union([FeederId, Type.Null()]),
    transformerId: Type.Union([TransformerId, Type.Null()]),
    type: AnomalyType,
    channel: Channel,
    state: OpenClosed,
    severity: Severity,
    startTs: EpochMs,
    endTs: Type.Union([EpochMs, Type.Null()]),
    observed: Type.Union([Type.Number(), Type.Null()], { description: 'Value that triggered (open) or the last abnormal value (closed)' }),
    baseline: Type.Union([Type.Number(), Type.Null()], { description: 'Moving average or nominal the value was judged against' }),
    peak: Type.Optional(Type.Union([Type.Number(), Type.Null()], { description: 'Most extreme value while open' })),
    durationMs: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    detectedAt: EpochMs,
    // v1-additive (issue 11), set on `pattern` anomalies only: the model's score, the threshold it
    // crossed, and the model file's version (sha256) so a finding can be traced to its model.
    score: Type.Optional(Type.Number({ description: 'Learned anomaly score of the window that opened (or last kept open) the anomaly' })),
    threshold: Type.Optional(Type.Number({ description: 'Score threshold of the model (from its manifest)' })),
    modelVersion: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the model file that scored' })),
  },
  { $id: 'gridwatch/v1/anomaly', title: 'Anomaly', additionalProperties: true },
);
export type Anomaly = Static<typeof Anomaly>;
