// Entry of the producer thread (thread-producer.ts) when gridwatch runs from source: plain
// JavaScript that registers tsx itself (hooks registered in the main thread do not reach a
// worker), as central/archive/build-worker.mjs. The prebuilt gateway has its own
// dist/producer-worker.mjs, bundled from producer-thread.ts (scripts/build-edge.mjs), at the same
// place relative to the code that starts it.
import { register } from 'tsx/esm/api';

register();
await import('./producer-thread.ts');
