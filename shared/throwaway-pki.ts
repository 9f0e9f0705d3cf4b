/**
 * A throwaway certificate authority for tests and benchmarks: a CA, server certificates for the
 * loopback names and client certificates identified by their CN. Keys come from Node's own crypto
 * (RSA 2048, fast and native); node-forge (a devDependency, lockfile-pinned) only builds and signs
 * the X.509 structures. Never for production: keys live in memory and the CA key is not protected.
 */
import { generateKeyPairSync, randomBytes, sign as nativeSign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface IssuedCert {
  cert: string;
  key: string;
}

export interface ThrowawayCa extends IssuedCert {
  /** A server certificate valid for these DNS names and IP addresses (first one is the CN). */
  server(hosts?: readonly string[]): IssuedCert;
  /** A client certificate (extendedKeyUsage clientAuth) whose subject CN is `cn`. */
  client(cn: string): IssuedCert;
}

const DAY = 86_400_000;

function newKeys(): { pem: string; forgePub: forge.pki.PublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { pem, forgePub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) };
}

function baseCert(pub: forge.pki.PublicKey, cn: string, validDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  // Positive serial: the first byte's high bit cleared.
  cert.serialNumber = `0${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + validDays * DAY);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  return cert;
}

/**
 * Signs with Node's crypto instead of forge's pure-JS RSA (about 50x faster): forge hands the DER
 * of the TBSCertificate to `md.update` and then asks `key.sign(md)` for the signature bytes.
 */
function signNatively(cert: forge.pki.Certificate, keyPem: string): void {
  let tbs = '';
  const md = { algorithm: 'sha256', update: (bytes: string) => void (tbs += bytes) };
  const key = { sign: () => nativeSign('sha256', Buffer.from(tbs, 'binary'), keyPem).toString('binary') };
  cert.sign(key as unknown as forge.pki.rsa.PrivateKey, md as unknown as forge.md.MessageDigest);
}

/** Makes a new CA; every certificate it issues is signed with SHA-256 and valid for `validDays`. */
export function makeThrowawayCa(name = 'gridwatch throwaway test CA', validDays = 2): ThrowawayCa {
  const ca = newKeys();
  const caCert = baseCert(ca.forgePub, name, validDays);
  caCert.setIssuer(caCert.subject.attributes);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signNatively(caCert, ca.pem);

  const issue = (cn: string, extensions: object[]): IssuedCert => {
    const k = newKeys();
    const cert = baseCert(k.forgePub, cn, validDays);
    cert.setIssuer(caCert.subject.attributes);
    cert.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true }, ...extensions]);
    signNatively(cert, ca.pem);
    return { cert: forge.pki.certificateToPem(cert), key: k.pem };
  };

  return {
    cert: forge.pki.certificateToPem(caCert),
    key: ca.pem,
    server(hosts = ['localhost', '127.0.0.1']) {
      const altNames = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h }));
      return issue(hosts[0] ?? 'localhost', [{ name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames }]);
    },
    client(cn) {
      return issue(cn, [{ name: 'extKeyUsage', clientAuth: true }]);
    },
  };
}

export interface PkiFiles {
  caFile: string;
  serverCert: string;
  serverKey: string;
  /** CN -> its certificate and key files. */
  clients: Record<string, { cert: string; key: string }>;
}

/** Writes a CA, one server certificate and one client certificate per CN into `dir` (keys mode 0600). */
export function writeThrowawayPki(dir: string, clientCns: readonly string[] = [], ca: ThrowawayCa = makeThrowawayCa()): PkiFiles {
  mkdirSync(dir, { recursive: true });
  const put = (name: string, text: string, mode = 0o644) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode });
    return path;
  };
  const server = ca.server();
  const files: PkiFiles = { caFile: put('ca.pem', ca.cert), serverCert: put('server.pem', server.cert), serverKey: put('server-key.pem', server.key, 0o600), clients: {} };
  for (const cn of clientCns) {
    const c = ca.client(cn);
    files.clients[cn] = { cert: put(`client-${cn}.pem`, c.cert), key: put(`client-${cn}-key.pem`, c.key, 0o600) };
  }
  return files;
}
