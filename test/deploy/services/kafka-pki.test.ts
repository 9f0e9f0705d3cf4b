import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KAFKA_USERS, ensureKafkaPki, issueCertificate, makeCertificateAuthority } from '../../../deploy/services/kafka-pki.ts';

const root = mkdtempSync(join(tmpdir(), 'gw-pki-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ensureKafkaPki', () => {
  it('makes a CA and, for every principal, a certificate it signed, a key and a 0600 password', async () => {
    const dir = join(root, 'a', 'kafka-pki');
    const pki = await ensureKafkaPki(() => undefined, dir);
    const ca = new X509Certificate(readFileSync(pki.caFile));
    expect(ca.ca).toBe(true);
    for (const user of KAFKA_USERS) {
      const f = pki.user(user);
      const cert = new X509Certificate(readFileSync(f.certFile));
      expect(cert.subject).toContain(`CN=${user}`);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkPrivateKey(createPrivateKey(readFileSync(f.keyFile)))).toBe(true);
      expect(statSync(f.passwordFile).mode & 0o077).toBe(0);
      expect(statSync(f.keyFile).mode & 0o077).toBe(0);
      expect(readFileSync(f.passwordFile, 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }
    const broker = new X509Certificate(readFileSync(pki.user('broker').certFile));
    expect(broker.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(broker.checkHost('localhost')).toBe('localhost');
    expect(broker.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(new X509Certificate(readFileSync(pki.user('edge').certFile)).checkIP('127.0.0.1')).toBeUndefined();
    // Nothing left behind from the staging directory.
    expect(readdirSync(join(root, 'a'))).toEqual(['kafka-pki']);
  });

  it('keeps what exists (rotation is deliberate) and two concurrent first uses agree on one CA', async () => {
    const dir = join(root, 'b', 'kafka-pki');
    const [x, y] = await Promise.all([ensureKafkaPki(() => undefined, dir), ensureKafkaPki(() => undefined, dir)]);
    const ca = new X509Certificate(readFileSync(x.caFile));
    expect(new X509Certificate(readFileSync(y.user('edge').certFile)).verify(ca.publicKey)).toBe(true);
    const before = readFileSync(x.user('central').passwordFile, 'utf8');
    await ensureKafkaPki(() => undefined, dir);
    expect(readFileSync(x.user('central').passwordFile, 'utf8')).toBe(before);
  });

  it('a foreign CA signs certificates that ours does not verify', async () => {
    const ours = await makeCertificateAuthority(join(root, 'ours'), 'ours');
    const theirs = await makeCertificateAuthority(join(root, 'theirs'), 'theirs');
    const out = { certFile: join(root, 'theirs', 'edge.pem'), keyFile: join(root, 'theirs', 'edge.key') };
    await issueCertificate(theirs, out, 'edge');
    const cert = new X509Certificate(readFileSync(out.certFile));
    expect(cert.verify(createPublicKey(new X509Certificate(readFileSync(ours.certFile)).publicKey.export({ format: 'pem', type: 'spki' })))).toBe(false);
    expect(cert.verify(new X509Certificate(readFileSync(theirs.certFile)).publicKey)).toBe(true);
  });
});
