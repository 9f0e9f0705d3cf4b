/** The edge's durable store: outbox (two lanes), detector state and checkpoints, dead letters, group commit. */
export { EdgeStore, DEAD_LETTER_PAYLOAD_MAX, type EdgeStoreOptions } from './edge-store.ts';
export { GroupCommitter, type GroupCommitterOptions } from './group-committer.ts';
export { gapsForEviction } from './eviction.ts';
export { LANES, type Lane, type OutboxRecord, type StoredRecord, type DeadLetter, type CommitUnit, type StoreStats, type Checkpoint } from './types.ts';
