// Entry of the archive's build thread. Plain JavaScript so that it starts the same way under
// `gridwatch` (tsx registered in the main thread only), vitest and `node --import tsx`: hooks
// registered in the main thread do not reach a worker, so it registers tsx itself.
import { register } from 'tsx/esm/api';

register();
await import('./build-thread.ts');
