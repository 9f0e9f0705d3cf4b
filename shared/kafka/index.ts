/** The one Kafka layer: client factory, topic names and creation, error classifier, partitioner. */
export { createKafkaClient, PLAINTEXT, type KafkaClientOptions, type KafkaSecurity } from './client.ts';
export { ensureTopics, ensureTopicsOn, topicSpecs, partitionCount, topicNames, topicSettings, TOPIC_DEFAULTS, MODELS_TOPIC_DEFAULT, modelsTopic, modelsTopicSpec, type TopicKey, type TopicNames, type TopicSettings, type TopicSpec } from './topics.ts';
export { kafkaError, backoffDelay } from './errors.ts';
export { partitionOf, defaultPartitioner } from './partition.ts';
export { compareAndSetRecord, readLatestRecord, RecordConflictError, type LatestRecord } from './keyed-record.ts';
export { PartitionTracker, sendBatchAcknowledged, unacknowledged, UnsentPartitionsError } from './send.ts';
