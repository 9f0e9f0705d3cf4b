// `gridwatch credentials add-token|revoke|list`, run as the real command: the token is printed
// once, the file holds only its hash (mode 0600), and the key it prints is the one ApiKeys accepts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeys, readTokensFile } from '../../central/api/auth/index.ts';

const BIN = join(import.meta.dirname, '../../bin/gridwatch.js');
const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [BIN, 'credentials', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('gridwatch credentials (API keys)', () => {
  it('adds a token shown once and stored hashed, lists it, revokes it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'creds-')), 'api-tokens.json');
    const token = execFileSync(process.execPath, [BIN, 'credentials', 'add-token', '--name', 'grid-ops', '--role', 'operator'], { encoding: 'utf8', env: { ...process.env, GRIDWATCH_API_TOKENS_FILE: file } }).trim();
    expect(token).toMatch(/^gw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8')).not.toContain(token.split('_')[2]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(new ApiKeys(readTokensFile(file)).verify(token)?.role).toBe('operator');
    expect(new ApiKeys(readTokensFile(file)).verify(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeNull();

    const list = cli(['list', '--file', file]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^[0-9a-f]{12}\toperator\t\S+\tgrid-ops\n$/);
    expect(list.stdout).not.toContain(token);

    expect(cli(['add-token', '--name', 'grid-ops', '--role', 'viewer', '--file', file]).status).toBe(78); // the name is taken
    expect(cli(['add-token', '--name', 'x', '--role', 'root', '--file', file]).stderr).toMatch(/--role: expected one of viewer, operator, admin/);
    expect(cli(['revoke', '--name', 'nobody', '--file', file]).status).toBe(1);
    expect(cli(['revoke', '--name', 'grid-ops', '--file', file]).status).toBe(0);
    expect(readTokensFile(file)).toEqual([]);
    expect(cli(['list']).status).toBe(78); // no file named anywhere
  });
});
