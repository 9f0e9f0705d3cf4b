import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addDevices, listDevices, removeDevice } from '../../cli/credentials-devices.ts';
import { run } from '../../cli/credentials.ts';
import { Authorizer, loadCredentialsFile } from '../../edge/ingest/auth.ts';
import { readDeviceSecrets } from '../../shared/device-secrets.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-cred-cli-'));
afterEach(() => vi.restoreAllMocks());

function capture() {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  return out;
}

describe('gridwatch credentials (devices)', () => {
  it('add-device prints a generated password once; the gateway accepts it; list shows no hash', async () => {
    const file = join(dir, 'a.json');
    const out = capture();
    expect(await run(['add-device', 'dc-1', '--kind', 'concentrator', '--id', 'dc-1', '--meters', 'm-1,m-2', '--file', file])).toBe(0);
    const password = out[0]!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(password);
    const a = new Authorizer({ allowAnonymous: false, credentials: loadCredentialsFile(file) });
    expect(await a.authenticate('dc-1', Buffer.from(password))).toMatchObject({ kind: 'concentrator', id: 'dc-1' });
    out.length = 0;
    expect(await run(['list', '--file', file])).toBe(0);
    expect(out).toEqual(['dc-1\tconcentrator\tdc-1\tpassword\t2 meters']);
    expect(out.join('\n')).not.toMatch(/scrypt/);
  });

  it('refuses to overwrite a user without --replace (exit 78 from the dispatcher), rotates with it', async () => {
    const file = join(dir, 'b.json');
    const deviceFile = join(dir, 'b-devices.json');
    await addDevices(file, [{ username: 'm', kind: 'meter', id: 'm-1' }], { deviceFile });
    const first = readDeviceSecrets(deviceFile)['m-1']!.password;
    await expect(addDevices(file, [{ username: 'm', kind: 'meter', id: 'm-1' }], { deviceFile })).rejects.toThrow(/exists \(use --replace/);
    await addDevices(file, [{ username: 'm', kind: 'meter', id: 'm-1' }], { deviceFile, replace: true });
    const second = readDeviceSecrets(deviceFile)['m-1']!.password;
    expect(second).not.toBe(first);
    expect(statSync(deviceFile).mode & 0o777).toBe(0o600);
    const a = new Authorizer({ allowAnonymous: false, credentials: loadCredentialsFile(file) });
    expect(await a.authenticate('m', Buffer.from(first))).toBeNull();
    expect(await a.authenticate('m', Buffer.from(second))).not.toBeNull();
  });

  it('remove deletes the user (and its device secret); removing an unknown user exits 1', async () => {
    const file = join(dir, 'c.json');
    const deviceFile = join(dir, 'c-devices.json');
    await addDevices(file, [{ username: 'm', kind: 'meter', id: 'm-1' }, { username: 'cert', kind: 'meter', id: 'm-2', password: null, clientCert: true }], { deviceFile });
    expect(listDevices(file).map((d) => `${d.username}:${d.auth}`)).toEqual(['m:password', 'cert:certificate']);
    expect(removeDevice(file, 'm', { deviceFile })).toBe(true);
    expect(Object.keys(loadCredentialsFile(file))).toEqual(['cert']);
    expect(readDeviceSecrets(deviceFile)).toEqual({});
    capture();
    expect(await run(['remove', 'm', '--file', file])).toBe(1);
    await expect(run(['add-device', 'x', '--kind', 'robot', '--id', 'x', '--file', file])).rejects.toThrow(/--kind meter\|concentrator\|operator/);
    await expect(addDevices(file, [{ username: 'y', kind: 'meter', id: 'y', password: null }])).rejects.toThrow(/certificate only needs --client-cert/);
  });
});
