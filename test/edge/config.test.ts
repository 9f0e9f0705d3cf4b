import { describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/config.ts';

describe('edge config', () => {
  it('has working defaults', () => {
    const c = loadEdgeConfig({ env: {} });
    expect(c.mqttPort).toBe(1883);
    expect(c.mqttAllowAnonymous).toBe(false);
    expect(c.unknownMeterPolicy).toBe('accept');
    expect(c.sqliteSynchronous).toBe('FULL');
    expect(c.httpHost).toBe('127.0.0.1'); // the unauthenticated ops listener answers this host only
  });
  it('reads GRIDWATCH_* variables and names the bad one', () => {
    const c = loadEdgeConfig({ env: { GRIDWATCH_MQTT_PORT: '1884', GRIDWATCH_KAFKA_BROKERS: 'a:1,b:2', GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true', GRIDWATCH_UNKNOWN_METER_POLICY: 'reject' } });
    expect([c.mqttPort, c.kafkaBrokers, c.mqttAllowAnonymous, c.unknownMeterPolicy]).toEqual([1884, ['a:1', 'b:2'], true, 'reject']);
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_MQTT_PORT: 'x' } })).toThrow(/GRIDWATCH_MQTT_PORT/);
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_UNKNOWN_METER_POLICY: 'maybe' } })).toThrow(/GRIDWATCH_UNKNOWN_METER_POLICY/);
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_EDGE_ID: 'bad id' } })).toThrow(/GRIDWATCH_EDGE_ID/);
  });
});
