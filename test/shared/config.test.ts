import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { configReference, envName, loadConfig } from '../../shared/config.ts';

const Schema = Type.Object({
  mqttPort: Type.Integer({ minimum: 1, maximum: 65535, default: 1883, description: 'MQTT port' }),
  kafkaBrokers: Type.Array(Type.String(), { default: ['127.0.0.1:9092'] }),
  allowAnonymous: Type.Boolean({ default: false }),
  edgeId: Type.String({ pattern: '^[a-z0-9-]+$' }),
});

describe('loadConfig', () => {
  it('maps camelCase keys to GRIDWATCH_ variables', () => {
    expect(envName('mqttPort')).toBe('GRIDWATCH_MQTT_PORT');
    expect(envName('kafkaBrokers')).toBe('GRIDWATCH_KAFKA_BROKERS');
  });

  it('reads and coerces environment variables, applying defaults', () => {
    const c = loadConfig(Schema, { env: { GRIDWATCH_EDGE_ID: 'edge-1', GRIDWATCH_KAFKA_BROKERS: 'a:1, b:2', GRIDWATCH_ALLOW_ANONYMOUS: 'yes' } });
    expect(c).toEqual({ mqttPort: 1883, kafkaBrokers: ['a:1', 'b:2'], allowAnonymous: true, edgeId: 'edge-1' });
  });

  it('names the variable and what was expected', () => {
    expect(() => loadConfig(Schema, { env: { GRIDWATCH_EDGE_ID: 'e', GRIDWATCH_MQTT_PORT: 'abc' } })).toThrow(/GRIDWATCH_MQTT_PORT="abc": expected an integer in 1..65535/);
    expect(() => loadConfig(Schema, { env: { GRIDWATCH_EDGE_ID: 'e', GRIDWATCH_MQTT_PORT: '70000' } })).toThrow(/GRIDWATCH_MQTT_PORT/);
    expect(() => loadConfig(Schema, { env: {} })).toThrow(/GRIDWATCH_EDGE_ID/);
  });

  it('reads a YAML or JSON file under the environment, and refuses unknown keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
    const yaml = join(dir, 'edge.yaml');
    writeFileSync(yaml, 'edgeId: from-file\nmqttPort: 2883\n');
    expect(loadConfig(Schema, { env: { GRIDWATCH_CONFIG: yaml, GRIDWATCH_MQTT_PORT: '3883' } })).toMatchObject({ edgeId: 'from-file', mqttPort: 3883 });
    const json = join(dir, 'edge.json');
    writeFileSync(json, JSON.stringify({ edgeId: 'x', mqtPort: 1 }));
    expect(() => loadConfig(Schema, { env: { GRIDWATCH_CONFIG: json } })).toThrow(/unknown key "mqtPort"/);
  });

  it('produces a reference table', () => {
    const rows = configReference(Schema);
    expect(rows[0]).toEqual({ variable: 'GRIDWATCH_MQTT_PORT', expected: 'an integer in 1..65535', default: '1883', description: 'MQTT port' });
  });
});
