import { Type, type Static } from '@sinclair/typebox';
import { FeederId, MeterId, SubstationId, TransformerId } from './common.ts';

export const Phase = Type.Union([
  Type.Literal('A'),
  Type.Literal('B'),
  Type.Literal('C'),
  Type.Literal('AB'),
  Type.Literal('BC'),
  Type.Literal('CA'),
  Type.Literal('ABC'),
]);
export type Phase = Static<typeof Phase>;

/**
 * `grid.topology` (key: meterId, compacted) and the rows of a topology file. Nominal voltage and
 * frequency belong to the meter, not to a global constant: 230 V / 50 Hz and 120-240 V / 60 Hz
 * grids both exist.
 */
export const TopologyEntry = Type.Object(
  {
    meterId: MeterId,
    transformerId: TransformerId,
    feederId: FeederId,
    substationId: SubstationId,
    phase: Phase,
    nominalVoltage: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'Service voltage, V' }),
    nominalFrequency: Type.Union([Type.Literal(50), Type.Literal(60)]),
    transformerKva: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Transformer rating, kVA' })),
    readingIntervalMs: Type.Optional(Type.Integer({ minimum: 100, description: 'Expected interval between readings' })),
  },
  { $id: 'gridwatch/v1/topology-entry', title: 'TopologyEntry', additionalProperties: false },
);
export type TopologyEntry = Static<typeof TopologyEntry>;
