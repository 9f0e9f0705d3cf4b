/** Store-and-forward: the outbox to Kafka, in order, removed only after Kafka acknowledged. */
export { Forwarder, type ForwarderOptions, type ForwardCompression } from './forwarder.ts';
export { CONTRACT_OF_TOPIC } from './contracts.ts';
