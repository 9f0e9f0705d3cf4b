/** Store-and-forward: the outbox to Kafka, in order, removed only after Kafka acknowledged. */
export { Forwarder, type ForwarderOptions } from './forwarder.ts';
export { ensureTopics, CONTRACT_OF_TOPIC, type TopicKey } from './topics.ts';
export { kafkaError, backoffDelay } from './kafka-errors.ts';
