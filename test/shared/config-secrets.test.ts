// Secret settings: <NAME>_FILE (Docker/Kubernetes secrets), and errors that never echo a value.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { configReference, isSecretSetting, loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { CentralConfigSchema } from '../../central/config.ts';
import { EdgeConfigSchema } from '../../edge/config.ts';

const Schema = Type.Object({
  s3SecretKey: Type.Optional(Type.String({ secret: true, minLength: 8 })),
  influxToken: Type.Optional(Type.String()), // secret by its name
  retries: Type.Integer({ default: 3 }),
  pin: Type.Optional(Type.Integer({ secret: true, minimum: 1000 })),
});
const dir = mkdtempSync(join(tmpdir(), 'gw-secret-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('secret settings', () => {
  it('reads <NAME>_FILE and drops the final newline only', () => {
    const c = loadConfig(Schema, { env: { GRIDWATCH_S3_SECRET_KEY_FILE: file('s3', 'abc def  \n'), GRIDWATCH_INFLUX_TOKEN_FILE: file('tok', 'tok-1\r\n') } });
    expect(c.s3SecretKey).toBe('abc def  ');
    expect(c.influxToken).toBe('tok-1');
  });

  it('coerces a value from a file like one from the environment', () => {
    expect(loadConfig(Schema, { env: { GRIDWATCH_PIN_FILE: file('pin', '4242\n') } }).pin).toBe(4242);
  });

  it('refuses both <NAME> and <NAME>_FILE, and an unreadable file, naming the variable', () => {
    const both = { GRIDWATCH_S3_SECRET_KEY: 'from-env-123', GRIDWATCH_S3_SECRET_KEY_FILE: file('s3b', 'from-file-123') };
    expect(() => loadConfig(Schema, { env: both })).toThrow(/GRIDWATCH_S3_SECRET_KEY and GRIDWATCH_S3_SECRET_KEY_FILE are both set/);
    expect(() => loadConfig(Schema, { env: { GRIDWATCH_S3_SECRET_KEY_FILE: join(dir, 'missing') } })).toThrow(/GRIDWATCH_S3_SECRET_KEY_FILE: cannot read .*missing: ENOENT/);
  });

  it('leaves <NAME>_FILE to a schema that has its own <key>File setting', () => {
    const S = Type.Object({ kafkaSaslPassword: Type.Optional(Type.String()), kafkaSaslPasswordFile: Type.Optional(Type.String()) });
    const path = file('sasl', 'pw\n');
    expect(loadConfig(S, { env: { GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: path } })).toEqual({ kafkaSaslPasswordFile: path });
  });

  it('refuses <NAME>_FILE for a setting that is not secret, rather than ignore it', () => {
    expect(() => loadConfig(Schema, { env: { GRIDWATCH_RETRIES_FILE: file('r', '9') } })).toThrow(/GRIDWATCH_RETRIES_FILE: only secret settings are read from a file/);
  });

  it('names the variable but never the value of a bad secret, from the environment or a file', () => {
    const messages: string[] = [];
    for (const env of [{ GRIDWATCH_S3_SECRET_KEY: 'short7' }, { GRIDWATCH_S3_SECRET_KEY_FILE: file('short', 'short7') }, { GRIDWATCH_PIN: 'pin-secret-x' }]) {
      try {
        loadConfig(Schema, { env });
        throw new Error('no error');
      } catch (err) {
        messages.push(`${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details)}`);
      }
    }
    expect(messages[0]).toMatch(/GRIDWATCH_S3_SECRET_KEY/);
    expect(messages[2]).toMatch(/GRIDWATCH_PIN: expected an integer/);
    for (const m of messages) expect(m).not.toMatch(/short7|pin-secret-x/);
    // A setting that is not secret still shows its value: that is what helps an operator.
    expect(() => loadConfig(Schema, { env: { GRIDWATCH_RETRIES: 'many' } })).toThrow(/GRIDWATCH_RETRIES="many"/);
  });

  it('marks the secrets of both programs, and says so in the reference', () => {
    const secrets = (s: typeof CentralConfigSchema | typeof EdgeConfigSchema) => Object.entries(s.properties).filter(([k, p]) => isSecretSetting(k, p)).map(([k]) => k);
    expect(secrets(CentralConfigSchema)).toEqual(expect.arrayContaining(['s3AccessKey', 's3SecretKey', 'influxToken', 'webhookSecret']));
    expect(secrets(EdgeConfigSchema)).toContain('mqttUpstreamUrl');
    expect(secrets(CentralConfigSchema)).not.toContain('s3Bucket');
    expect(configReference(CentralConfigSchema).find((r) => r.variable === 'GRIDWATCH_WEBHOOK_SECRET')?.description).toMatch(/GRIDWATCH_WEBHOOK_SECRET_FILE/);
  });
});

describe('log redaction', () => {
  it('replaces secret fields at the top level and one object down', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const logger = createLogger({ program: 'test', destination });
    logger.info({ password: 'pw-1', config: { s3SecretKey: 'sk-2', influxToken: 'it-3', s3Bucket: 'kept' }, sasl: { mechanism: 'scram-sha-512', password: 'sp-4' } }, 'x');
    logger.info({ req: { headers: { authorization: 'Bearer at-5' } }, webhookSecret: 'ws-6', mqttUpstreamUrl: 'mqtt://u:up-7@h' }, 'y');
    await new Promise<void>((r) => logger.flush(() => r()));
    const text = lines.join('');
    for (const s of ['pw-1', 'sk-2', 'it-3', 'sp-4', 'at-5', 'ws-6', 'up-7']) expect(text).not.toContain(s);
    expect(text).toContain('kept');
    expect(text).toContain('scram-sha-512');
    expect(text.match(/\[redacted\]/g)?.length).toBe(7);
  });
});
