import { describe, expect, it } from 'vitest';
import { loadCentralConfig } from '../../central/config.ts';
import { topicNames } from '../../shared/kafka/index.ts';

describe('central config', () => {
  it('names every topic with the prefix, each overridable, as the edge does', () => {
    expect(topicNames(loadCentralConfig({ env: {} }))).toEqual({
      readings: 'grid.readings',
      anomalies: 'grid.anomalies',
      events: 'grid.events',
      edgeStatus: 'grid.edge-status',
      gaps: 'grid.gaps',
      topology: 'grid.topology',
      state: 'grid.central-state',
    });
    const c = loadCentralConfig({ env: { GRIDWATCH_KAFKA_TOPIC_PREFIX: 'demo-1.', GRIDWATCH_TOPIC_STATE: 'state-of-demo' } });
    expect(topicNames(c)).toMatchObject({ readings: 'demo-1.grid.readings', events: 'demo-1.grid.events', state: 'state-of-demo' });
    expect(() => loadCentralConfig({ env: { GRIDWATCH_TOPIC_EVENTS: 'no spaces' } })).toThrow(/GRIDWATCH_TOPIC_EVENTS/);
  });
  it('refuses InfluxDB without an archive (the archiver writes the points), before anything opens', () => {
    expect(() => loadCentralConfig({ env: { GRIDWATCH_INFLUX_URL: 'http://127.0.0.1:8086' } })).toThrow(/GRIDWATCH_INFLUX_URL: .*GRIDWATCH_S3_ENDPOINT or GRIDWATCH_ARCHIVE_DIR/);
    expect(loadCentralConfig({ env: { GRIDWATCH_INFLUX_URL: 'http://127.0.0.1:8086', GRIDWATCH_ARCHIVE_DIR: '/tmp/a' } }).influxUrl).toBe('http://127.0.0.1:8086');
  });
  it('reads the log level through the same loader', () => {
    expect(() => loadCentralConfig({ env: { GRIDWATCH_LOG_LEVEL: 'verbose' } })).toThrow(/GRIDWATCH_LOG_LEVEL/);
  });
});
