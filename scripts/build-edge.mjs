// Builds dist/edge.mjs, the gateway as one file that plain `node` runs (edge/entry.ts says why).
// Run by `npm run build:edge` and the Dockerfile's build stage; the shipped systemd unit starts it
// (the compose edges still run `gridwatch edge`, docker-compose.yml says why).
// `node scripts/build-edge.mjs OUTFILE` builds elsewhere (under the repository, so that node_modules
// resolves: test/edge/entry.test.ts).
// Packages stay outside the bundle (`packages: 'external'`): better-sqlite3 is a native addon, and
// node_modules keeps the versions `npm ci` installed, resolved from dist/ up to the repository.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = process.argv[2] ?? 'dist/edge.mjs';
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  // Stack traces name the functions as in the source (tsx keeps names the same way).
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};
await build({ ...common, entryPoints: ['edge/entry.ts'], outfile });
// The producer thread of GRIDWATCH_FORWARD_CLIENT=platformatic-thread (shared/kafka/thread-producer.ts
// starts `./producer-worker.mjs` beside the code that runs it: here, beside the bundle).
const worker = join(dirname(outfile), 'producer-worker.mjs');
await build({ ...common, entryPoints: ['shared/kafka/producer-thread.ts'], outfile: worker });
console.log(`built ${worker}`);
console.log(`built ${outfile}`);
