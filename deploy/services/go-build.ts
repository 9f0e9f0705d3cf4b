// `go install <package>@<pinned version>` into a versioned directory of the cache.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './layout.ts';
import { type Log, runCommand } from './process.ts';

export const goBinDir = (name: string, version: string): string => join(paths.bin(), `${name}-${version}`);
export const goBinary = (name: string, binary: string, version: string): string => join(goBinDir(name, version), binary);

/** Builds the binary unless it is already there. Long builds report progress every 20 seconds. */
export async function goInstall(opts: { name: string; binary: string; pkg: string; version: string; log: Log }): Promise<string> {
  const target = goBinary(opts.name, opts.binary, opts.version);
  if (existsSync(target)) {
    opts.log(`[services] ${opts.name}: ${opts.pkg}@${opts.version} already built (${target})`);
    return target;
  }
  mkdirSync(goBinDir(opts.name, opts.version), { recursive: true });
  opts.log(`[services] ${opts.name}: go install ${opts.pkg}@${opts.version} (cold builds take minutes) ...`);
  const started = Date.now();
  let downloaded = 0;
  let compiled = 0;
  let lastReport = Date.now();
  await runCommand('go', ['install', '-v', `${opts.pkg}@${opts.version}`], {
    logFile: paths.log(`${opts.name}-build`),
    what: `${opts.name}: building with go install`,
    env: { ...process.env, GOBIN: goBinDir(opts.name, opts.version) },
    log: opts.log,
    progress: (line) => {
      if (line.startsWith('go: downloading')) downloaded++;
      else if (line.trim() !== '') compiled++;
      if (Date.now() - lastReport < 20_000) return undefined;
      lastReport = Date.now();
      return `[services] ${opts.name}: building ... ${Math.round((Date.now() - started) / 1000)}s, ${downloaded} modules downloaded, ${compiled} packages compiled`;
    },
  });
  opts.log(`[services] ${opts.name}: built in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  return target;
}
