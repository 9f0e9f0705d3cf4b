import { describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/config.ts';
import { topicNames } from '../../shared/kafka/index.ts';

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

describe('edge config: combinations checked by the loader, before anything opens', () => {
  it('refuses upstream mode without its URL, and a TLS port without certificate and key', () => {
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_MQTT_MODE: 'upstream' } })).toThrow(/GRIDWATCH_MQTT_UPSTREAM_URL: required with GRIDWATCH_MQTT_MODE=upstream/);
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_MQTT_TLS_PORT: '8883', GRIDWATCH_MQTT_TLS_CERT: 'c.pem' } })).toThrow(/GRIDWATCH_MQTT_TLS_PORT needs GRIDWATCH_MQTT_TLS_CERT and GRIDWATCH_MQTT_TLS_KEY/);
    expect(loadEdgeConfig({ env: { GRIDWATCH_MQTT_MODE: 'upstream', GRIDWATCH_MQTT_UPSTREAM_URL: 'mqtt://127.0.0.1:1883' } }).mqttMode).toBe('upstream');
  });
  it('reads the log level and the topic names through the same loader', () => {
    expect(loadEdgeConfig({ env: {} }).logLevel).toBe('info');
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_LOG_LEVEL: 'loud' } })).toThrow(/GRIDWATCH_LOG_LEVEL/);
    const c = loadEdgeConfig({ env: { GRIDWATCH_LOG_LEVEL: 'debug', GRIDWATCH_KAFKA_TOPIC_PREFIX: 'site-a.', GRIDWATCH_TOPIC_GAPS: 'other.gaps' } });
    expect(c.logLevel).toBe('debug');
    expect(topicNames(c)).toMatchObject({ readings: 'site-a.grid.readings', anomalies: 'site-a.grid.anomalies', gaps: 'other.gaps' });
  });
});
