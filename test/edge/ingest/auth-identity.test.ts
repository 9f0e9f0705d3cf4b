import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Authorizer, GENERATED_SECRET_SCRYPT, hashPassword, loadCredentialsFile, verifyPassword, type CredentialsFile } from '../../../edge/ingest/auth.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-auth-'));

describe('client-certificate identity', () => {
  it('a verified CN identifies an entry with clientCert: true, and is held to the same ACL', async () => {
    const a = new Authorizer({ allowAnonymous: false, credentials: { 'm-a': { kind: 'meter', id: 'm-a', clientCert: true }, 'm-b': { kind: 'meter', id: 'm-b', clientCert: true } } });
    const who = (await a.identify(undefined, undefined, 'm-a'))!;
    expect(who).toEqual({ principal: { kind: 'meter', id: 'm-a' }, username: 'm-a', via: 'certificate' });
    expect(a.mayPublish(who.principal, { kind: 'reading', meterId: 'm-a' })).toBe(true);
    expect(a.mayPublish(who.principal, { kind: 'reading', meterId: 'm-b' })).toBe(false);
    // Showing A's certificate and claiming B's user name is refused.
    expect(await a.identify('m-b', Buffer.from('x'), 'm-a')).toBeNull();
    // Without a certificate, a certificate-only entry has no password to check.
    expect(await a.identify('m-a', Buffer.from(''), null)).toBeNull();
    expect(await a.identify('m-a', undefined, null)).toBeNull();
    // A CN that names no entry is nobody.
    expect(await a.identify(undefined, undefined, 'm-zz')).toBeNull();
  });

  it('a certificate does not count for an entry without clientCert: the password decides', async () => {
    const a = new Authorizer({ allowAnonymous: false, credentials: { p: { kind: 'meter', id: 'm-p', passwordHash: await hashPassword('pw', GENERATED_SECRET_SCRYPT) } } });
    expect(await a.identify(undefined, undefined, 'p')).toBeNull();
    expect((await a.identify('p', Buffer.from('pw'), 'p'))?.via).toBe('password');
  });
});

describe('credentials reload', () => {
  it('names exactly the removed and changed users, and forgets their cached passwords', async () => {
    const h1 = await hashPassword('one', GENERATED_SECRET_SCRYPT);
    const h2 = await hashPassword('two', GENERATED_SECRET_SCRYPT);
    const first: CredentialsFile = {
      keep: { kind: 'meter', id: 'm-1', passwordHash: h1 },
      gone: { kind: 'meter', id: 'm-2', passwordHash: h1 },
      rehashed: { kind: 'meter', id: 'm-3', passwordHash: h1 },
      moved: { kind: 'meter', id: 'm-4', passwordHash: h1 },
      dc: { kind: 'concentrator', id: 'dc-1', passwordHash: h1, meters: ['m-5', 'm-6'] },
    };
    const a = new Authorizer({ allowAnonymous: false, credentials: first });
    expect(await a.authenticate('rehashed', Buffer.from('one'))).not.toBeNull();
    const stale = a.replaceCredentials({
      keep: { ...first.keep! },
      rehashed: { kind: 'meter', id: 'm-3', passwordHash: h2 },
      moved: { kind: 'meter', id: 'm-44', passwordHash: h1 },
      dc: { kind: 'concentrator', id: 'dc-1', passwordHash: h1, meters: ['m-5'] },
      added: { kind: 'meter', id: 'm-9', passwordHash: h2 },
    });
    expect([...stale].sort()).toEqual(['dc', 'gone', 'moved', 'rehashed']);
    expect(await a.authenticate('rehashed', Buffer.from('one'))).toBeNull(); // the cache was dropped
    expect(await a.authenticate('rehashed', Buffer.from('two'))).toEqual({ kind: 'meter', id: 'm-3' });
    expect(await a.authenticate('gone', Buffer.from('one'))).toBeNull();
    expect(await a.authenticate('added', Buffer.from('two'))).toEqual({ kind: 'meter', id: 'm-9' });
    expect(a.userCount).toBe(5);
  });
});

describe('credentials file', () => {
  it('accepts the old format, certificate-only entries, and refuses an entry that cannot authenticate', async () => {
    const path = join(dir, 'c.json');
    writeFileSync(path, JSON.stringify({ m: { passwordHash: await hashPassword('p', GENERATED_SECRET_SCRYPT), kind: 'meter', id: 'm-1' }, c: { kind: 'meter', id: 'm-2', clientCert: true } }));
    expect(Object.keys(loadCredentialsFile(path))).toEqual(['m', 'c']);
    writeFileSync(path, JSON.stringify({ x: { kind: 'meter', id: 'm-3' } }));
    expect(() => loadCredentialsFile(path)).toThrow(/"x": neither passwordHash nor clientCert: true/);
    writeFileSync(path, JSON.stringify({ x: { kind: 'meter', id: 'm-3', clientCert: false } }));
    expect(() => loadCredentialsFile(path)).toThrow(/neither passwordHash/);
  });

  it('generated secrets use the cheaper scrypt cost, in the same verifiable format', async () => {
    const h = await hashPassword('secret', GENERATED_SECRET_SCRYPT);
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword(Buffer.from('secret'), h)).toBe(true);
    expect(await verifyPassword(Buffer.from('secreT'), h)).toBe(false);
  });
});
