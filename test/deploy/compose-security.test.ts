// docker-compose.yml as shipped is secured: no secret written in it, every secret a service reads
// is a compose secret the init service makes, TLS on every hop, MQTT without anonymous clients.
// And the init script itself, run here on a small topology: its certificates chain to its CA and
// name the hosts the clients dial, its device credentials verify.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadCredentialsFile, verifyPassword } from '../../edge/ingest/auth.ts';
import { createHash } from 'node:crypto';
import { readTokensFile, TOKEN_PATTERN } from '../../central/api/auth/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
type Service = { environment?: Record<string, unknown>; secrets?: string[]; command?: string | string[]; entrypoint?: string[] };
const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; secrets: Record<string, { file: string }> };
const services = Object.entries(compose.services);
const env = (s: Service): Record<string, string> => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));

describe('docker-compose.yml is secured', () => {
  it('writes no secret: every password, secret or token setting is a file', () => {
    for (const [name, s] of services) {
      for (const [k, v] of Object.entries(env(s))) {
        expect(k, `${name}: ${k}=${v} is a literal secret`).not.toMatch(/(PASSWORD|SECRET|TOKEN|SECRET_KEY)$/);
        expect(v, `${name}: ${k} interpolates a variable`).not.toMatch(/\$\{/);
      }
    }
  });

  it('gives each service, as compose secrets, exactly the files its settings name; the init service makes them all', () => {
    const script = readFileSync(join(ROOT, 'deploy/compose/init-secrets.sh'), 'utf8');
    for (const [name, s] of services) {
      const named = new Set<string>();
      for (const v of Object.values(env(s))) for (const m of v.matchAll(/\/run\/secrets\/([A-Za-z0-9._-]+)/g)) named.add(m[1]!);
      for (const [k, v] of Object.entries(env(s))) if (k.startsWith('MINIO_') && k.endsWith('_FILE')) named.add(v);
      const text = JSON.stringify([s.command, s.entrypoint]);
      for (const m of text.matchAll(/\/run\/secrets\/([A-Za-z0-9._-]+)/g)) named.add(m[1]!);
      for (const n of named) expect(s.secrets ?? [], `${name} reads ${n}`).toContain(n);
      for (const n of s.secrets ?? []) expect(compose.secrets[n], `${name}: secret ${n} is declared`).toBeDefined();
    }
    for (const [n, def] of Object.entries(compose.secrets)) {
      expect(def.file, n).toBe(`./deploy/compose/secrets/${n}`);
      const made = n.replace(/\.(crt|key|pem|password|json)$/, '');
      expect(script, `init-secrets.sh makes ${n}`).toContain(made);
    }
    expect(existsSync(join(ROOT, 'deploy/compose/secrets/.gitignore'))).toBe(true);
  });

  it('runs Kafka with no plaintext listener, the StandardAuthorizer and deny by default', () => {
    for (const b of ['kafka-1', 'kafka-2', 'kafka-3']) {
      const e = env(compose.services[b]!);
      expect(e.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!.split(',').map((p) => p.split(':')[1])).not.toContain('PLAINTEXT');
      expect(e.KAFKA_AUTHORIZER_CLASS_NAME).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
      expect(e.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND).toBe('false');
      expect(e.KAFKA_ADVERTISED_LISTENERS).not.toMatch(/PLAINTEXT/);
    }
  });

  it('connects every gridwatch program over TLS with its own credentials; MQTT anonymous is off', () => {
    const principals = new Set<string>();
    for (const [name, s] of services.filter(([n]) => /^(central|edge)-/.test(n))) {
      const e = env(s);
      expect(e.GRIDWATCH_KAFKA_TLS, name).toBe('true');
      expect(e.GRIDWATCH_KAFKA_TLS_CA_FILE, name).toBe('/run/secrets/ca.crt');
      expect(e.GRIDWATCH_KAFKA_SASL_MECHANISM, name).toMatch(/^scram-sha-(256|512)$/);
      expect(e.GRIDWATCH_KAFKA_SASL_PASSWORD_FILE, name).toMatch(/^\/run\/secrets\/kafka-/);
      principals.add(e.GRIDWATCH_KAFKA_SASL_USERNAME!);
      if (name.startsWith('central')) {
        expect(e.GRIDWATCH_S3_ENDPOINT).toMatch(/^https:/);
        expect(e.GRIDWATCH_INFLUX_URL).toMatch(/^https:/);
        expect(e.GRIDWATCH_S3_CA_FILE && e.GRIDWATCH_INFLUX_CA_FILE).toBeTruthy();
      } else {
        expect(e.GRIDWATCH_MQTT_ALLOW_ANONYMOUS, name).toBe('false');
        expect(e.GRIDWATCH_MQTT_CREDENTIALS, name).toBe('/run/secrets/mqtt-credentials.json');
        expect(e.GRIDWATCH_MQTT_TLS_PORT, name).toBeDefined();
      }
    }
    expect([...principals].sort()).toEqual(['central', 'edge-sub-01', 'edge-sub-02', 'edge-sub-03']); // one principal per gateway
    const kafkaInit = readFileSync(join(ROOT, 'deploy/compose/init-kafka.sh'), 'utf8');
    for (const p of principals) expect(compose.services['kafka-init']!.secrets).toContain(`kafka-${p}.password`);
    expect(kafkaInit).toContain('EDGES="edge-sub-01 edge-sub-02 edge-sub-03"');
    const sim = JSON.stringify(compose.services.simulator);
    expect(sim).toContain('--device-auth');
    expect(sim.match(/mqtts:\/\//g)?.length).toBe(3);
    expect(sim).not.toMatch(/mqtt:\/\//);
  });
});

describe('deploy/compose/init-secrets.sh', () => {
  it('makes a CA, certificates for the names clients dial, passwords and device credentials; a second run changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-compose-init-'));
    const topology = join(dir, 'topology.csv');
    writeFileSync(topology, 'meterId,transformerId,feederId,substationId,phase,nominalVoltage,nominalFrequency\nm-1,t-1,f-1,sub-01,A,230,50\nm-2,t-1,f-1,sub-01,B,230,50\n');
    const secrets = join(dir, 'secrets');
    mkdirSync(secrets);
    const run = (): string => execFileSync('sh', [join(ROOT, 'deploy/compose/init-secrets.sh')], { env: { ...process.env, SECRETS_DIR: secrets, GRIDWATCH_APP: ROOT, TOPOLOGY: topology }, encoding: 'utf8' });
    expect(run()).toMatch(/2 device credentials/);
    for (const n of Object.keys(compose.secrets)) expect(existsSync(join(secrets, n)), n).toBe(true);
    const verify = (cert: string): string => execFileSync('openssl', ['verify', '-CAfile', join(secrets, 'ca.crt'), join(secrets, cert)], { encoding: 'utf8' });
    const sans = (cert: string): string => execFileSync('openssl', ['x509', '-in', join(secrets, cert), '-noout', '-ext', 'subjectAltName', '-subject'], { encoding: 'utf8' });
    for (const c of ['kafka-broker.crt', 'kafka-admin.crt', 'minio.crt', 'influxdb.crt', 'edge-mqtt.crt']) expect(verify(c)).toMatch(/OK/);
    expect(sans('kafka-broker.crt')).toMatch(/DNS:kafka-1, DNS:kafka-2, DNS:kafka-3[\s\S]*CN ?= ?broker/);
    expect(sans('kafka-admin.crt')).toMatch(/CN ?= ?admin/);
    expect(sans('minio.crt')).toContain('DNS:minio');
    expect(sans('influxdb.crt')).toContain('DNS:influxdb');
    expect(sans('edge-mqtt.crt')).toMatch(/DNS:edge-s01, DNS:edge-s02, DNS:edge-s03/);
    const password = readFileSync(join(secrets, 'mqtt-device-password'), 'utf8');
    expect(password).toMatch(/^[0-9a-f]{64}$/);
    const creds = loadCredentialsFile(join(secrets, 'mqtt-credentials.json'));
    expect(Object.keys(creds)).toEqual(['m-1', 'm-2']);
    expect(await verifyPassword(Buffer.from(password), creds['m-1']!.passwordHash!)).toBe(true);
    expect(await verifyPassword(Buffer.from('other'), creds['m-1']!.passwordHash!)).toBe(false);
    // Central's API: one admin key, stored hashed; the token itself only in api-admin-token.
    const adminToken = readFileSync(join(secrets, 'api-admin-token'), 'utf8').trim();
    expect(adminToken).toMatch(TOKEN_PATTERN);
    const keys = readTokensFile(join(secrets, 'api-tokens.json'));
    expect(keys.map((k) => [k.name, k.role])).toEqual([['compose-admin', 'admin']]);
    expect(keys[0]!.sha256).toBe(createHash('sha256').update(adminToken).digest('hex'));
    expect(readFileSync(join(secrets, 'api-tokens.json'), 'utf8')).not.toContain(adminToken);
    expect(readFileSync(join(secrets, 'metrics-token'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    const before = readFileSync(join(secrets, 'kafka-central.password'), 'utf8');
    expect(run()).toMatch(/initialised already/);
    expect(readFileSync(join(secrets, 'kafka-central.password'), 'utf8')).toBe(before);
    const passwords = ['kafka-central.password', 'kafka-edge-sub-01.password', 'minio-root-password', 'influx-token'].map((n) => readFileSync(join(secrets, n), 'utf8'));
    expect(new Set(passwords).size).toBe(passwords.length);
  }, 60_000);
});

describe('deploy/k8s/central.yaml keeps secrets in a Secret, mounted as files', () => {
  // Kubernetes reads YAML 1.1, where 0440 is octal.
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/k8s/central.yaml'), 'utf8'), { version: '1.1' }).map((d) => d.toJSON() as { kind: string; data?: Record<string, string>; stringData?: unknown; spec?: unknown });
  const config = docs.find((d) => d.kind === 'ConfigMap')!.data!;
  const deployment = JSON.stringify(docs.find((d) => d.kind === 'Deployment'));

  it('ships no Secret object with values and no secret in the ConfigMap or the environment', () => {
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    for (const k of Object.keys(config)) expect(k).not.toMatch(/(PASSWORD|SECRET|TOKEN|SECRET_KEY)$/);
    expect(deployment).not.toMatch(/secretRef|secretKeyRef/); // no secret as an environment variable
  });

  it('mounts the Secret read-only where every *_FILE setting points, and uses TLS for Kafka, S3 and InfluxDB', () => {
    const spec = docs.find((d) => d.kind === 'Deployment')!.spec as { template: { spec: { volumes: { name: string; secret?: { secretName: string; defaultMode: number } }[]; containers: { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[] } } };
    const volume = spec.template.spec.volumes.find((v) => v.secret)!;
    expect(volume.secret).toEqual({ secretName: 'gridwatch-central-secrets', defaultMode: 0o440 });
    const mount = spec.template.spec.containers[0]!.volumeMounts.find((m) => m.name === volume.name)!;
    expect(mount.readOnly).toBe(true);
    const files = Object.entries(config).filter(([k]) => k.endsWith('_FILE'));
    expect(files.map(([k]) => k).sort()).toEqual(['GRIDWATCH_API_TOKENS_FILE', 'GRIDWATCH_INFLUX_CA_FILE', 'GRIDWATCH_INFLUX_TOKEN_FILE', 'GRIDWATCH_KAFKA_SASL_PASSWORD_FILE', 'GRIDWATCH_KAFKA_TLS_CA_FILE', 'GRIDWATCH_METRICS_TOKEN_FILE', 'GRIDWATCH_S3_CA_FILE', 'GRIDWATCH_S3_SECRET_KEY_FILE']);
    for (const [k, v] of files) expect(v, k).toMatch(new RegExp(`^${mount.mountPath}/[a-z0-9.-]+$`));
    expect(config.GRIDWATCH_KAFKA_TLS).toBe('true');
    expect(config.GRIDWATCH_S3_ENDPOINT).toMatch(/^https:/);
    expect(config.GRIDWATCH_INFLUX_URL).toMatch(/^https:/);
  });
});
