export { createApiHandler, listen, type ApiDeps, type Health } from './server.ts';
export { SseHub, type SseHubOptions } from './sse.ts';
export { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore, readingIdOf, type AnomalyFilter, type EventFilter, type EdgeView } from './store.ts';
export { parseAnomalyQuery, parseEventQuery, parsePathId, parseTopologyQuery } from './query.ts';
