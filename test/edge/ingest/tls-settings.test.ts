import { describe, expect, it } from 'vitest';
import { checkMqttTls, mqttTlsListeners } from '../../../edge/ingest/broker.ts';

const base = { mqttMode: 'embedded' as const, mqttTlsClientCerts: 'off' as const };

describe('MQTT TLS settings', () => {
  it('refuses settings that do not fit together, naming the variables', () => {
    expect(() => checkMqttTls({ ...base, mqttTlsPort: 8883 })).toThrow(/GRIDWATCH_MQTT_TLS_PORT needs GRIDWATCH_MQTT_TLS_CERT and GRIDWATCH_MQTT_TLS_KEY/);
    expect(() => checkMqttTls({ ...base, mqttWssPort: 8884, mqttTlsCert: 'c' })).toThrow(/GRIDWATCH_MQTT_WSS_PORT needs/);
    expect(() => checkMqttTls({ ...base, mqttTlsPort: 8883, mqttTlsCert: 'c', mqttTlsKey: 'k', mqttTlsClientCerts: 'required' })).toThrow(/needs GRIDWATCH_MQTT_TLS_CA/);
    expect(() => checkMqttTls({ ...base, mqttTlsCa: 'ca', mqttTlsClientCerts: 'optional' })).toThrow(/needs a TLS listener/);
    expect(() => checkMqttTls({ ...base, mqttTlsPort: 8883, mqttTlsCert: 'c', mqttTlsKey: 'k', mqttTlsCa: 'ca', mqttTlsClientCerts: 'optional' })).not.toThrow();
  });

  it('builds the TLS and WSS listeners from the settings', () => {
    expect(mqttTlsListeners({ ...base })).toEqual({});
    expect(mqttTlsListeners({ ...base, mqttWssPort: 8884, mqttTlsCert: 'c', mqttTlsKey: 'k' })).toEqual({ tls: { certFile: 'c', keyFile: 'k', clientCerts: 'off' }, wssPort: 8884 });
    expect(mqttTlsListeners({ ...base, mqttTlsPort: 8883, mqttTlsCert: 'c', mqttTlsKey: 'k', mqttTlsCa: 'ca', mqttTlsClientCerts: 'required' })).toEqual({
      tls: { port: 8883, certFile: 'c', keyFile: 'k', caFile: 'ca', clientCerts: 'required' },
    });
  });
});
