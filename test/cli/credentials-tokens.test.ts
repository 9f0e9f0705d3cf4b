// `gridwatch credentials add-token|revoke|list`: the token is printed once, the file holds only
// its hash (mode 0600), and the key it prints is the one ApiKeys accepts. One run is the real
// command in a child process; the rest go through the same dispatcher in this process (faster).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiKeys, readTokensFile } from '../../central/api/auth/index.ts';
import { main } from '../../cli/main.ts';

const BIN = join(import.meta.dirname, '../../bin/gridwatch.js');

/** Runs `gridwatch credentials ...` in this process; returns its exit code and what it printed. */
async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += a.join(' ') + '\n'));
  try {
    return { status: await main(['credentials', ...args]), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('gridwatch credentials (API keys)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('adds a token shown once and stored hashed, lists it, revokes it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'creds-')), 'api-tokens.json');
    const token = execFileSync(process.execPath, [BIN, 'credentials', 'add-token', '--name', 'grid-ops', '--role', 'operator'], {
      encoding: 'utf8',
      env: { ...process.env, GRIDWATCH_API_TOKENS_FILE: file },
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    expect(token).toMatch(/^gw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8')).not.toContain(token.split('_')[2]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(new ApiKeys(readTokensFile(file)).verify(token)?.role).toBe('operator');
    expect(new ApiKeys(readTokensFile(file)).verify(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeNull();

    const list = await cli(['list', '--tokens', '--file', file]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^[0-9a-f]{12}\toperator\t\S+\tgrid-ops\n$/);
    expect(list.stdout).not.toContain(token);

    expect((await cli(['add-token', '--name', 'grid-ops', '--role', 'viewer', '--file', file])).status).toBe(78); // the name is taken
    expect((await cli(['add-token', '--name', 'x', '--role', 'root', '--file', file])).stderr).toMatch(/--role: expected one of viewer, operator, admin/);
    expect((await cli(['revoke', '--name', 'nobody', '--file', file])).status).toBe(1);
    expect((await cli(['revoke', '--name', 'grid-ops', '--file', file])).status).toBe(0);
    expect(readTokensFile(file)).toEqual([]);
    const saved = process.env.GRIDWATCH_API_TOKENS_FILE;
    delete process.env.GRIDWATCH_API_TOKENS_FILE;
    try {
      expect((await cli(['list-tokens'])).status).toBe(78); // no file named anywhere
    } finally {
      if (saved !== undefined) process.env.GRIDWATCH_API_TOKENS_FILE = saved;
    }
  }, 60_000);
});
