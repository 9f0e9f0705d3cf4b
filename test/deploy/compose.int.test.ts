import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadCentralConfig } from '../../central/config.ts';
import { loadEdgeConfig } from '../../edge/config.ts';
import { composePath } from '../../deploy/services/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number | null>;
}

/** docker-compose.yml as Compose itself resolves it (anchors, merges, variables), validated by the real tool. */
async function resolvedCompose(): Promise<{ services: Record<string, Service> }> {
  const compose = await composePath();
  // `config` validates against the Compose Specification and prints the effective file; no engine needed.
  const out = execFileSync(compose, ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent' } });
  return parseYaml(out) as { services: Record<string, Service> };
}

const asEnv = (e: Service['environment'] = {}) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));

// The compose secrets are files the init service makes (deploy/compose/init-secrets.sh): stand-ins
// at the same names, so that the settings naming /run/secrets/<name> load as they would there.
const secretsDir = mkdtempSync(join(tmpdir(), 'gw-compose-secrets-'));
const withSecrets = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => {
      const m = /^\/run\/secrets\/([A-Za-z0-9._-]+)$/.exec(v);
      if (!m) return [k, v];
      writeFileSync(join(secretsDir, m[1]!), 'stand-in-secret-0123456789abcdef\n');
      return [k, join(secretsDir, m[1]!)];
    }),
  );
const settings = (s: Service) => withSecrets(asEnv(s.environment));

describe('docker-compose.yml (checked by docker-compose config)', () => {
  it('is a valid Compose file, and every gridwatch service\'s settings load', async () => {
    const { services } = await resolvedCompose();
    const roles = Object.values(services).map((s) => s.command?.[0]);
    expect(roles.filter((r) => r === 'edge')).toHaveLength(3);
    expect(roles.filter((r) => r === 'central')).toHaveLength(2);
    for (const [name, s] of Object.entries(services)) {
      if (s.command?.[0] === 'edge') expect(() => loadEdgeConfig({ env: settings(s) }), name).not.toThrow();
      if (s.command?.[0] === 'central') expect(() => loadCentralConfig({ env: settings(s) }), name).not.toThrow();
    }
  });

  it('creates topics replicated like the cluster, so acks=all writes can succeed', async () => {
    const { services } = await resolvedCompose();
    // The brokers (kafka-init runs the same image for its command-line tools, without a node id).
    const brokers = Object.values(services).filter((s) => s.image?.startsWith('apache/kafka:') && asEnv(s.environment).KAFKA_NODE_ID !== undefined);
    expect(brokers.length).toBe(3);
    const env = asEnv(brokers[0]!.environment);
    const minIsr = Number(env.KAFKA_MIN_INSYNC_REPLICAS ?? 1);
    const brokerDefault = Number(env.KAFKA_DEFAULT_REPLICATION_FACTOR ?? 1);
    for (const b of brokers) expect(asEnv(b.environment).KAFKA_MIN_INSYNC_REPLICAS).toBe(String(minIsr));
    expect(minIsr).toBe(2);
    // Central creates its topics with the brokers' default.
    expect(brokerDefault).toBeGreaterThanOrEqual(minIsr);
    expect(brokerDefault).toBeLessThanOrEqual(brokers.length);
    for (const [name, s] of Object.entries(services)) {
      if (s.command?.[0] !== 'edge') continue;
      const rf = loadEdgeConfig({ env: settings(s) }).kafkaReplicationFactor;
      expect(rf, `${name}: replication factor of the topics it creates`).toBeGreaterThanOrEqual(minIsr);
      expect(rf, name).toBeLessThanOrEqual(brokers.length);
    }
  });
});
