/**
 * The entry of the prebuilt gateway: `npm run build:edge` bundles it into dist/edge.mjs
 * (scripts/build-edge.mjs), which plain `node` runs without tsx's loader, its worker thread and
 * its transform caches: ~26 MB less RSS on substation hardware (edge/README.md, "Round 2, session
 * 9"). The same command as `gridwatch edge`, same options, same exit codes; the CLI from source
 * (bin/gridwatch.js) stays what tests, the demo and development run.
 */
import { failed } from '../cli/main.ts';
import { run } from './main.ts';

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (err) {
  process.exitCode = failed('edge', err);
}
