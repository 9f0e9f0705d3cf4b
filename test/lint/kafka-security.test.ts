// Security that the tests never use is not there (issue 9): every Kafka client the project makes
// (programs, tools, bench, demo, tests) is built by shared/kafka's createKafkaClient and given a
// security, and the plaintext listener of the local servers is reached only by the few places
// named here, each for its reason (docs/services.md, "The plaintext listener").
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const DIRS = ['bench', 'central', 'cli', 'deploy', 'edge', 'scripts', 'shared', 'simulator', 'test'];

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === 'node_modules' || name.startsWith('.')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js|mjs)$/.test(name)) out.push(relative(ROOT, p));
    }
  };
  try {
    walk(join(ROOT, dir));
  } catch {
    // a folder this checkout does not have
  }
  return out;
}

const files = DIRS.flatMap(sources).filter((f) => f !== 'test/lint/kafka-security.test.ts');
const text = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));

/** The argument text of every call `name(...)` in `src` (parentheses balanced; strings are not special, which these calls never need). */
function callArgs(src: string, name: string): string[] {
  const out: string[] = [];
  for (let i = src.indexOf(`${name}(`); i !== -1; i = src.indexOf(`${name}(`, i + 1)) {
    if (/[\w.]/.test(src[i - 1] ?? '') && src.slice(i - 9, i) !== 'function ') continue;
    if (src.slice(i - 9, i) === 'function ') continue; // the definition
    let depth = 0;
    let j = i + name.length;
    for (; j < src.length; j++) {
      if (src[j] === '(') depth++;
      else if (src[j] === ')' && --depth === 0) break;
    }
    out.push(src.slice(i + name.length + 1, j));
  }
  return out;
}

/** Where a client may be made without a security: the factory's own unit test (its PLAINTEXT default, against a socket of the test's own). */
const WITHOUT_SECURITY = new Set(['test/shared/kafka/client.test.ts']);

/** Who may name the plaintext listener, and why. */
const PLAINTEXT_USERS: Record<string, string> = {
  'deploy/services/index.ts': 'defines the endpoints and the explicit opt-out of endpointsToEnv',
  'deploy/services/kafka.ts': 'renders and starts the listener',
  'deploy/services/layout.ts': 'its port and what it grants',
  'deploy/services/cli.ts': '--kafka-plaintext, the explicit and logged opt-out',
  'test/harness/global-setup.ts': 'GRIDWATCH_TEST_KAFKA_SECURE=false, the explicit and logged opt-out',
  'bench/kafka-security.ts': "the bench's side-by-side yardstick: plaintext against SASL_SSL in one run",
  'test/deploy/services/kafka-plaintext-refused.int.test.ts': "proves the listener refuses everything in 'refused' mode",
  'test/deploy/services/endpoints-env.test.ts': 'the opt-out exports the plaintext endpoint only when asked',
  'test/deploy/services/configs.test.ts': 'same, for the cluster',
  'test/deploy/services/kafka-config.test.ts': "the broker's rendered listeners",
  'test/reliability/link-rig.ts': "the fault rig's reader bypasses the proxy: its node advertises SASL_SSL at the proxy",
};
const PLAINTEXT = /plaintextBrokers|kafkaSecure: false|kafka-plaintext|KAFKA_SECURE=false|:19[0-3]92\b|broker: 19[0-3]92\b/;

describe('Kafka security everywhere', () => {
  it('scans the tree', () => {
    expect(files.length).toBeGreaterThan(300);
    expect([...text.values()].filter((s) => s.includes('createKafkaClient(')).length).toBeGreaterThan(20);
  });

  it('every createKafkaClient call passes a security', () => {
    const missing: string[] = [];
    for (const [f, src] of text) {
      if (f === 'shared/kafka/client.ts' || WITHOUT_SECURITY.has(f)) continue;
      for (const args of callArgs(src, 'createKafkaClient')) if (!/\bsecurity\b/.test(args)) missing.push(`${f}: createKafkaClient(${args.slice(0, 80)}...)`);
    }
    expect(missing).toEqual([]);
  });

  it('nothing makes a kafkajs client but shared/kafka/client.ts', () => {
    const direct = [...text].filter(([f, src]) => f !== 'shared/kafka/client.ts' && /new (kafkajs\.)?Kafka(Client)?\(/.test(src)).map(([f]) => f);
    expect(direct).toEqual([]);
  });

  it('the plaintext listener is named only where the list says why', () => {
    const users = [...text].filter(([, src]) => PLAINTEXT.test(src)).map(([f]) => f).sort();
    expect(users.filter((f) => !(f in PLAINTEXT_USERS))).toEqual([]);
  });

  it('the check would see a client without a security, and a plaintext endpoint', () => {
    expect(callArgs("const k = createKafkaClient({ brokers, clientId: 'x' });", 'createKafkaClient')).toEqual(["{ brokers, clientId: 'x' }"]);
    expect(callArgs('export function createKafkaClient(o: KafkaClientOptions): Kafka {', 'createKafkaClient')).toEqual([]);
    expect(PLAINTEXT.test("brokers: ['127.0.0.1:19092']")).toBe(true);
    expect(PLAINTEXT.test("brokers: ['127.0.0.1:19094']")).toBe(false);
  });
});
