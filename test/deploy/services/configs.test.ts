import { afterEach, describe, expect, it } from 'vitest';
import { endpointsToEnv, serviceEndpoints } from '../../../deploy/services/index.ts';
import { renderInfluxConfig } from '../../../deploy/services/influxdb.ts';
import { cacheDir } from '../../../deploy/services/layout.ts';
import { renderMosquittoConfig } from '../../../deploy/services/mosquitto.ts';
import { quoteCommand } from '../../../deploy/services/process.ts';

const savedCache = process.env.GRIDWATCH_CACHE_DIR;
afterEach(() => {
  if (savedCache === undefined) delete process.env.GRIDWATCH_CACHE_DIR;
  else process.env.GRIDWATCH_CACHE_DIR = savedCache;
});

describe('service configuration files', () => {
  it('binds InfluxDB to loopback with auth off and Flux on', () => {
    const conf = renderInfluxConfig('/cache/data/influxdb');
    expect(conf).toContain('bind-address = "127.0.0.1:18088"');
    expect(conf).toContain('bind-address = "127.0.0.1:18086"');
    expect(conf).toContain('flux-enabled = true');
    expect(conf).toContain('auth-enabled = false');
    expect(conf).toContain('dir = "/cache/data/influxdb/meta"');
  });

  it('runs Mosquitto on the harness port, anonymous, logging to stdout', () => {
    const conf = renderMosquittoConfig();
    expect(conf).toContain('listener 11883 127.0.0.1');
    expect(conf).toContain('allow_anonymous true');
    expect(conf).toContain('log_dest stdout');
  });
});

describe('endpoints', () => {
  it('uses GRIDWATCH_CACHE_DIR when set', () => {
    process.env.GRIDWATCH_CACHE_DIR = '/tmp/gw-cache';
    expect(cacheDir()).toBe('/tmp/gw-cache');
  });

  it('exports the single node and the cluster brokers as environment variables', () => {
    expect(endpointsToEnv(serviceEndpoints())).toMatchObject({
      GRIDWATCH_KAFKA_BROKERS: '127.0.0.1:19094',
      GRIDWATCH_S3_ENDPOINT: 'http://127.0.0.1:19000',
      GRIDWATCH_S3_ACCESS_KEY: 'gridwatch',
      GRIDWATCH_S3_SECRET_KEY: 'gridwatch-secret',
      GRIDWATCH_INFLUX_URL: 'http://127.0.0.1:18086',
      GRIDWATCH_MQTT_URL: 'mqtt://127.0.0.1:11883',
    });
    expect(endpointsToEnv(serviceEndpoints({ kafkaCluster: true })).GRIDWATCH_KAFKA_BROKERS).toBe('127.0.0.1:19194,127.0.0.1:19294,127.0.0.1:19394');
    expect(endpointsToEnv(serviceEndpoints({ kafkaCluster: true }), { kafkaSecure: false }).GRIDWATCH_KAFKA_BROKERS).toBe('127.0.0.1:19192,127.0.0.1:19292,127.0.0.1:19392');
  });

  it('quotes commands so a failing one can be pasted into a shell', () => {
    expect(quoteCommand('java', ['-cp', '/c/jars/*', 'kafka.Kafka'])).toBe("java -cp '/c/jars/*' kafka.Kafka");
  });
});
