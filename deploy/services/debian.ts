// Mosquitto, kcat, Prometheus (promtool) and docker-compose from Debian, installed at the versions pinned in versions.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { GridwatchError } from '../../shared/errors.ts';
import { paths } from './layout.ts';
import { type Log, runCommand } from './process.ts';
import { DEBIAN_PACKAGES } from './versions.ts';

const exec = promisify(execFile);
export type DebianTool = keyof typeof DEBIAN_PACKAGES;

export async function installedVersion(pkg: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg]);
    const [status, version] = stdout.split('\t');
    return status?.endsWith('installed') && status.includes('ok installed') ? version : undefined;
  } catch {
    return undefined;
  }
}

async function candidateVersions(pkg: string): Promise<string[]> {
  try {
    const { stdout } = await exec('apt-cache', ['madison', pkg]);
    return stdout.split('\n').map((l) => l.split('|')[1]?.trim()).filter((v): v is string => !!v);
  } catch {
    return [];
  }
}

// One install at a time per process: apt holds a lock, and concurrent callers share the result.
let pending: Promise<void> = Promise.resolve();

/** Installs the pinned Debian packages that are missing or at another version. */
export function ensureDebianPackages(tools: readonly DebianTool[], log: Log): Promise<void> {
  const run = pending.then(() => installMissing(tools, log));
  pending = run.catch(() => undefined);
  return run;
}

async function installMissing(tools: readonly DebianTool[], log: Log): Promise<void> {
  const wanted: string[] = [];
  for (const tool of tools) {
    const { pkg, version } = DEBIAN_PACKAGES[tool];
    const installed = await installedVersion(pkg);
    if (installed === version) continue;
    if (installed) log(`[services] ${tool}: installed ${pkg} ${installed} differs from pinned ${version}; installing the pinned one`);
    wanted.push(`${pkg}=${version}`);
  }
  if (wanted.length === 0) return;
  const logFile = paths.log('apt');
  const first = wanted[0]?.split('=')[0] ?? '';
  const firstVersion = wanted[0]?.split('=')[1] ?? '';
  if (!(await candidateVersions(first)).includes(firstVersion)) {
    log('[services] apt: package lists lack a pinned version; running apt-get update ...');
    await runCommand('apt-get', ['update'], { logFile, what: 'apt: refreshing package lists' });
  }
  log(`[services] apt: installing ${wanted.join(' ')} ...`);
  // No daemons from maintainer scripts: the harness runs Mosquitto with its own config and port.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  await runCommand('apt-get', ['install', '-y', '--no-install-recommends', ...wanted], { logFile, what: 'apt: installing pinned packages', env });
}

export async function toolPath(tool: DebianTool, log: Log = () => undefined): Promise<string> {
  await ensureDebianPackages([tool], log);
  const bin = DEBIAN_PACKAGES[tool].binary;
  if (!existsSync(bin)) throw new GridwatchError('PROVISION_FAILED', `${tool}: package ${DEBIAN_PACKAGES[tool].pkg} is installed but ${bin} is missing`);
  return bin;
}
