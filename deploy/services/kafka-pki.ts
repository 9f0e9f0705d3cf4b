// The project's own certificate authority for Kafka and the certificates it signs, made in-process
// with @peculiar/x509 (pinned by package-lock.json; no system tool, nothing downloaded at run time).
// Everything lives in <cache>/etc/kafka-pki (0700):
//   ca.pem / ca.key                 the CA (ECDSA P-256, 10 years); clients trust ca.pem
//   broker.pem / broker.key         the broker's certificate (server + client), inlined into server.properties
//   <user>.pem / <user>.key         client certificates for mutual TLS (CN=<user>), unencrypted PKCS#8 for Node
//   <user>.password                 the SASL password of each principal (random, 0600)
// The broker certificate names every address clients use: DNS localhost and IP 127.0.0.1.
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
// tsyringe (inside @peculiar/x509) needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { paths } from './layout.ts';
import type { Log } from './process.ts';

/** Principals of the local Kafka: `broker` (inter-broker and controller), `admin` (super user), `edge`, `central`. */
export const KAFKA_USERS = ['broker', 'admin', 'edge', 'central'] as const;
export type KafkaUser = (typeof KAFKA_USERS)[number];

export const BROKER_SUBJECT_ALT_NAMES = ['DNS:localhost', 'IP:127.0.0.1'] as const;

export const pkiDir = (): string => join(paths.etc(), 'kafka-pki');

export interface KafkaPki {
  dir: string;
  caFile: string;
  user(name: KafkaUser): { certFile: string; keyFile: string; passwordFile: string };
}

export function kafkaPki(dir = pkiDir()): KafkaPki {
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    user: (name) => ({ certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`), passwordFile: join(dir, `${name}.password`) }),
  };
}

export const readSecret = (file: string): string => readFileSync(file, 'utf8').trim();

function writeSecret(file: string, value: string): void {
  writeFileSync(file, value.endsWith('\n') ? value : `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

type CryptoKey = webcrypto.CryptoKey;
const crypto = webcrypto;
x509.cryptoProvider.set(crypto as never);
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function importKey(file: string): Promise<CryptoKey> {
  const der = createPrivateKey(readFileSync(file, 'utf8')).export({ type: 'pkcs8', format: 'der' });
  return crypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

/** A self-signed CA (P-256) in `dir`/ca.pem + ca.key. Also used by tests to make a CA nobody trusts. */
export async function makeCertificateAuthority(dir: string, commonName: string): Promise<{ certFile: string; keyFile: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca.key');
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(12).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${commonName}, O=gridwatch`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 3650 * DAY_MS),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeSecret(keyFile, await keyPem(keys.privateKey));
  writeFileSync(certFile, cert.toString('pem') + '\n');
  return { certFile, keyFile };
}

/**
 * A certificate CN=<commonName> signed by the CA, key in unencrypted PKCS#8 (what Node's tls reads).
 * Server certificates get the broker's subject alternative names; every certificate may act as a
 * TLS client (brokers are clients of the controller).
 */
export async function issueCertificate(
  ca: { certFile: string; keyFile: string },
  out: { certFile: string; keyFile: string },
  commonName: string,
  opts: { server?: boolean; days?: number } = {},
): Promise<void> {
  const caCert = new x509.X509Certificate(readFileSync(ca.certFile, 'utf8'));
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(12).toString('hex').replace(/^[89a-f]/, '1'),
    subject: `CN=${commonName}, O=gridwatch`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + (opts.days ?? 825) * DAY_MS),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.keyFile),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(opts.server ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ...(opts.server
        ? [new x509.SubjectAlternativeNameExtension(BROKER_SUBJECT_ALT_NAMES.map((n) => ({ type: n.startsWith('IP:') ? ('ip' as const) : ('dns' as const), value: n.slice(n.indexOf(':') + 1) })))]
        : []),
    ],
  });
  writeSecret(out.keyFile, await keyPem(keys.privateKey));
  writeFileSync(out.certFile, cert.toString('pem') + '\n');
}

/**
 * Makes whatever is missing: the CA, the broker keystore, every principal's certificate and
 * password. Existing files are kept (rotation is a deliberate act, see docs/security.md).
 */
export async function ensureKafkaPki(log: Log, dir = pkiDir()): Promise<KafkaPki> {
  if (!existsSync(dir)) {
    // First use: build the whole set aside and rename it into place, so two harnesses starting at
    // once (parallel test runs on a fresh cache) never mix certificates of two different CAs.
    const staging = `${dir}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
    await fillKafkaPki(log, staging);
    mkdirSync(dirname(dir), { recursive: true });
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another harness won the race: use its set
    }
  }
  return fillKafkaPki(log, dir);
}

async function fillKafkaPki(log: Log, dir: string): Promise<KafkaPki> {
  const pki = kafkaPki(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = { certFile: pki.caFile, keyFile: join(dir, 'ca.key') };
  if (!existsSync(ca.certFile) || !existsSync(ca.keyFile)) {
    log(`[services] kafka: making the local Kafka CA in ${dir}`);
    await makeCertificateAuthority(dir, 'gridwatch local Kafka CA');
  }
  let made = 0;
  for (const user of KAFKA_USERS) {
    const files = pki.user(user);
    if (!existsSync(files.passwordFile)) writeSecret(files.passwordFile, randomBytes(24).toString('base64url'));
    if (!existsSync(files.certFile) || !existsSync(files.keyFile)) {
      await issueCertificate(ca, files, user, { server: user === 'broker' });
      made += 1;
    }
  }
  if (made > 0) log(`[services] kafka: ${made} certificate(s) signed by the local CA in ${dir} (broker: ${BROKER_SUBJECT_ALT_NAMES.join(', ')})`);
  return pki;
}
