import kafkajs from 'kafkajs';

/**
 * The partition a keyed record lands on with kafkajs' default (Java-compatible murmur2)
 * partitioner, which is what the edge's producer uses. Central uses it to know which instance owns
 * a substation's heartbeats and gaps (keyed by edgeId, elsewhere) without waiting for an anomaly.
 */
export function partitionOf(key: string, partitions: number): number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  return partitioner({ topic: 'x', partitionMetadata, message: { key, value: null } });
}

/** The partitioner to name when creating a producer: kafkajs' default, named, so kafkajs logs no "default partitioner changed" warning. */
export const defaultPartitioner = kafkajs.Partitioners.DefaultPartitioner;
