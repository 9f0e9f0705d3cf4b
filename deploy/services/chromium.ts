// Debian's chromium, for the console's headless browser test (driven by playwright-core). Not pinned
// like the server packages in versions.ts: the test drives it through the DevTools protocol, which
// playwright-core keeps compatible across recent Chromium releases, and Debian ships security
// updates of chromium as new upstream versions anyway.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { GridwatchError } from '../../shared/errors.ts';
import { installedVersion } from './debian.ts';
import { paths } from './layout.ts';
import { type Log, runCommand } from './process.ts';

const exec = promisify(execFile);

const PACKAGE = 'chromium';
/** The wrapper script Debian installs; it adds the distribution's flags and execs the real binary. */
export const CHROMIUM_BINARY = '/usr/bin/chromium';

/** Whether apt knows a candidate version of the package (if not, the package lists are stale or empty). */
async function hasCandidate(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await exec('apt-cache', ['policy', pkg]);
    const candidate = /Candidate:\s*(\S+)/.exec(stdout)?.[1];
    return candidate !== undefined && candidate !== '(none)';
  } catch {
    return false;
  }
}

// One install per process at a time; concurrent callers share the result.
let pending: Promise<string> | undefined;

/**
 * Makes sure Debian's chromium is installed and returns the path of its executable. Installs it
 * (apt-get update first when apt does not know the package) and logs progress; a failing step
 * throws PROVISION_FAILED naming the exact command and the tail of its log.
 */
export function ensureChromium(log: Log = (line) => process.stderr.write(`${line}\n`)): Promise<string> {
  pending ??= install(log).finally(() => {
    pending = undefined;
  });
  return pending;
}

async function install(log: Log): Promise<string> {
  const installed = await installedVersion(PACKAGE);
  if (installed && existsSync(CHROMIUM_BINARY)) return CHROMIUM_BINARY;
  const logFile = paths.log('apt-chromium');
  // Another apt (the services harness installing its tools) may hold the dpkg lock: wait for it.
  const lockWait = ['-o', 'DPkg::Lock::Timeout=300'];
  if (!(await hasCandidate(PACKAGE))) {
    log(`[services] chromium: apt does not know package ${PACKAGE}; running apt-get update ...`);
    await runCommand('apt-get', [...lockWait, 'update'], { logFile, what: 'chromium: refreshing package lists' });
  }
  log('[services] chromium: installing Debian package chromium (about 100 MB, first time only) ...');
  const t = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runCommand('apt-get', [...lockWait, 'install', '-y', '--no-install-recommends', PACKAGE], {
    logFile,
    what: 'chromium: installing',
    env,
    log,
    progress: (line) => (/^(Get:\d+|Setting up chromium)/.test(line) ? `[services] chromium: ${line.slice(0, 120)}` : undefined),
  });
  if (!existsSync(CHROMIUM_BINARY)) {
    throw new GridwatchError('PROVISION_FAILED', `chromium: package ${PACKAGE} is installed but ${CHROMIUM_BINARY} is missing`);
  }
  log(`[services] chromium: installed in ${((Date.now() - t) / 1000).toFixed(1)}s at ${CHROMIUM_BINARY}`);
  return CHROMIUM_BINARY;
}
