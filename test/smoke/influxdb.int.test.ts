// Write a point with the v2 client and read it back with Flux through the real InfluxDB 1.8.
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { describe, expect, it } from 'vitest';
import { createInfluxBucket } from '../../deploy/services/index.ts';
import { testEndpoints, uniqueName } from '../harness/env.ts';

describe('influxdb smoke', () => {
  const endpoints = testEndpoints();
  const { url, token, org } = endpoints.influx;

  it('writes a point with WriteApi and queries it back with Flux', async () => {
    const database = uniqueName('smoke_voltage').replace(/-/g, '_');
    const bucket = await createInfluxBucket(endpoints, database);
    expect(bucket).toBe(`${database}/autogen`);

    const influx = new InfluxDB({ url, token });
    const ts = new Date(Date.now() - 60_000);
    const writer = influx.getWriteApi(org, bucket, 'ms');
    writer.writePoint(new Point('voltage').tag('meterId', 'meter-7').tag('substationId', 'ss-1').floatField('value', 229.25).timestamp(ts));
    await writer.close();

    const rows: { _value: number; meterId: string; _field: string }[] = [];
    const flux = `from(bucket: "${bucket}") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "voltage" and r.meterId == "meter-7")`;
    for await (const { values, tableMeta } of influx.getQueryApi(org).iterateRows(flux)) {
      rows.push(tableMeta.toObject(values) as { _value: number; meterId: string; _field: string });
    }
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ _value: 229.25, meterId: 'meter-7', _field: 'value' });
  });
});
