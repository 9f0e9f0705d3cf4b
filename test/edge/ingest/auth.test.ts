import { describe, expect, it } from 'vitest';
import { Authorizer, hashPassword, verifyPassword } from '../../../edge/ingest/auth.ts';

describe('credentials', () => {
  it('hashes with scrypt and verifies', async () => {
    const h = await hashPassword('s3cret');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword(Buffer.from('s3cret'), h)).toBe(true);
    expect(await verifyPassword(Buffer.from('s3cret!'), h)).toBe(false);
    expect(await verifyPassword(Buffer.from('x'), 'scrypt$99999999$8$1$AA$AA')).toBe(false);
    expect(await verifyPassword(Buffer.from('x'), 'md5$abc')).toBe(false);
  });

  it('authorises meters, concentrators and operators to exactly what they need', async () => {
    const a = new Authorizer({
      allowAnonymous: false,
      credentials: {
        m: { passwordHash: await hashPassword('p'), kind: 'meter', id: 'm1' },
        c: { passwordHash: await hashPassword('p'), kind: 'concentrator', id: 'c1' },
      },
    });
    expect(await a.authenticate(undefined, undefined)).toBeNull();
    expect(await a.authenticate('nobody', Buffer.from('p'))).toBeNull();
    expect(await a.authenticate('__proto__', Buffer.from('p'))).toBeNull();
    const meter = (await a.authenticate('m', Buffer.from('p')))!;
    expect(meter).toEqual({ kind: 'meter', id: 'm1' });
    expect(await a.authenticate('m', Buffer.from('p'))).toEqual(meter); // cached path
    expect(await a.authenticate('m', Buffer.from('wrong'))).toBeNull();
    expect(a.mayPublish(meter, { kind: 'reading', meterId: 'm1' })).toBe(true);
    expect(a.mayPublish(meter, { kind: 'event', meterId: 'm1' })).toBe(true);
    expect(a.mayPublish(meter, { kind: 'reading', meterId: 'm2' })).toBe(false);
    expect(a.mayPublish(meter, { kind: 'readings', concentratorId: 'm1' })).toBe(false);
    expect(a.maySubscribe(meter, 'meters/m1/reading')).toBe(false);

    const conc = (await a.authenticate('c', Buffer.from('p')))!;
    expect(a.mayPublish(conc, { kind: 'readings', concentratorId: 'c1' })).toBe(true);
    expect(a.mayPublish(conc, { kind: 'readings', concentratorId: 'c2' })).toBe(false);
    expect(a.mayPublish(conc, { kind: 'event', meterId: 'mx' })).toBe(false); // not reported yet
    expect(a.mayReportMeter(conc, 'mx')).toBe(true);
    expect(a.mayPublish(conc, { kind: 'event', meterId: 'mx' })).toBe(true);
    expect(a.mayPublish(conc, { kind: 'reading', meterId: 'mx' })).toBe(false);

    const op = { kind: 'operator' as const, id: 'ops' };
    expect(a.maySubscribe(op, 'meters/#')).toBe(true);
    expect(a.maySubscribe(op, '#')).toBe(false);
    expect(a.maySubscribe(op, '$SYS/#')).toBe(false);
    expect(a.mayPublish(op, { kind: 'reading', meterId: 'm1' })).toBe(false);
  });

  it('allows anonymous clients only when configured', async () => {
    expect(await new Authorizer({ allowAnonymous: true, credentials: {} }).authenticate(undefined, undefined)).toEqual({ kind: 'anonymous', id: 'anonymous' });
    expect(await new Authorizer({ allowAnonymous: false, credentials: {} }).authenticate(undefined, undefined)).toBeNull();
  });
});
