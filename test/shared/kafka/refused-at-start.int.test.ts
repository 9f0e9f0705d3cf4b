// The programs themselves (bin/gridwatch.js edge|central as child processes, as the demo runs
// them) against the harness's real SASL_SSL listener: a wrong password or an untrusted CA stops
// each at start with exit 78 (EX_CONFIG) and a message that names the broker and the mechanism and
// never the secret; the right credentials get central through its start.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaPrincipalEnv, serviceEndpoints } from '../../../deploy/services/index.ts';
import { writeThrowawayPki } from '../../../shared/throwaway-pki.ts';
import { uniqueName } from '../../harness/env.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const KAFKA = kafkaPrincipalEnv(serviceEndpoints(), 'admin');
const BROKER = KAFKA.GRIDWATCH_KAFKA_BROKERS!.split(',')[0]!;
const dir = mkdtempSync(join(tmpdir(), 'gw-refused-'));

interface Run { code: number | null; output: string }

/** Runs `gridwatch <program>` until it exits by itself, or until `untilText` shows (then SIGTERM). */
function runProgram(program: 'edge' | 'central', env: Record<string, string>, opts: { untilText?: RegExp; timeoutMs?: number } = {}): Promise<Run> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GRIDWATCH_')) base[k] = v;
  const child = spawn(process.execPath, [join(ROOT, 'bin/gridwatch.js'), program], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stopping = false;
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    const seen = (b: Buffer) => {
      output += b.toString();
      // Past the start (its signal handlers are installed right after it), then a graceful stop.
      if (!stopping && opts.untilText?.test(output)) {
        stopping = true;
        setTimeout(() => child.kill('SIGTERM'), 1000);
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

function programEnv(program: 'edge' | 'central', overrides: Record<string, string>): Record<string, string> {
  const { GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: passwordFile, ...kafka } = KAFKA;
  const prefix = uniqueName(`refused-${program}`);
  const common = { ...kafka, GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: passwordFile!, GRIDWATCH_KAFKA_TOPIC_PREFIX: `${prefix}.`, GRIDWATCH_HTTP_HOST: '127.0.0.1', GRIDWATCH_HTTP_PORT: '0' };
  const specific: Record<string, string> =
    program === 'edge'
      ? { GRIDWATCH_EDGE_ID: prefix.slice(0, 60), GRIDWATCH_DATA_DIR: mkdtempSync(join(dir, 'edge-')), GRIDWATCH_MQTT_HOST: '127.0.0.1', GRIDWATCH_MQTT_PORT: '0', GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true', GRIDWATCH_KAFKA_TOPIC_PARTITIONS: '1' }
      : { GRIDWATCH_CENTRAL_GROUP: `${prefix}-central` };
  return { ...common, ...specific, ...overrides };
}

describe('edge and central against a SASL_SSL Kafka that refuses them', () => {
  const wrong = `wrong-${randomBytes(12).toString('hex')}`;

  for (const program of ['edge', 'central'] as const) {
    it(`${program}: a wrong password stops it at start with exit 78, naming broker and mechanism, never the password`, async () => {
      const passwordFile = join(dir, `${program}-wrong.password`);
      writeFileSync(passwordFile, `${wrong}\n`, { mode: 0o600 });
      const run = await runProgram(program, programEnv(program, { GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: passwordFile }));
      expect(run.code, run.output).toBe(78);
      expect(run.output).toMatch(/KAFKA_AUTH_FAILED/);
      expect(run.output).toContain(BROKER);
      expect(run.output).toMatch(/scram-sha-512/);
      expect(run.output).not.toContain(wrong);
    });

    it(`${program}: a CA that did not sign the broker stops it at start with exit 78`, async () => {
      const other = writeThrowawayPki(join(dir, `${program}-other-ca`));
      const run = await runProgram(program, programEnv(program, { GRIDWATCH_KAFKA_TLS_CA_FILE: other.caFile }));
      expect(run.code, run.output).toBe(78);
      expect(run.output).toMatch(/KAFKA_TLS_UNTRUSTED/);
      expect(run.output).toContain(BROKER);
    });
  }

  it('central with the right credentials starts over SASL_SSL with mutual TLS and stops cleanly', async () => {
    const run = await runProgram('central', programEnv('central', {}), { untilText: /central started/ });
    expect(run.output).toMatch(/SASL_SSL scram-sha-512 as user admin \(client certificate\)/);
    expect(run.output).not.toMatch(/KAFKA_AUTH_FAILED|KAFKA_TLS_UNTRUSTED/);
    expect(run.code, run.output).toBe(0);
  });
});
