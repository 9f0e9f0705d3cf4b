export { createApiApp, createApiHandler, listen, SECURITY_HEADERS, type ApiDeps, type ConsoleLogin, type Health, type ListenOptions } from './server.ts';
export { SseHub, type SessionEndReason, type SseHubOptions, type StreamSession } from './sse.ts';
export { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore, type AnomalyFilter, type EventFilter, type EdgeView } from './store.ts';
export { parseAnomalyQuery, parseEventQuery, parsePathId, parseTopologyQuery } from './query.ts';
export { ApiAuth, apiAuthFromConfig, consoleLoginFromConfig, listenOptionsFromConfig, newToken, readTokensFile, writeTokensFile, type ApiAuthOptions, type Principal, type Role } from './auth/index.ts';
