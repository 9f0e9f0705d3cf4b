/**
 * The whole gateway (EdgePipeline, from GRIDWATCH_* settings) with the TLS and WSS listeners,
 * client certificates optional, anonymous off: the settings reach the listeners, and the
 * credentials file it was started with is watched.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDevices, removeDevice } from '../../../cli/credentials-devices.ts';
import type { EdgePipeline } from '../../../edge/pipeline.ts';
import { readDeviceSecrets } from '../../../shared/device-secrets.ts';
import { writeThrowawayPki, type PkiFiles } from '../../../shared/throwaway-pki.ts';
import { connectMqtt, edgeTestConfig, startEdge, testPrefix, waitFor } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-edge-tls-'));
const credentials = join(dir, 'credentials.json');
const devices = join(dir, 'devices.json');
let pki: PkiFiles;
let edge: EdgePipeline;
const open: MqttClient[] = [];

beforeAll(async () => {
  pki = writeThrowawayPki(join(dir, 'pki'), ['m-cert']);
  await addDevices(credentials, [{ username: 'm-cert', kind: 'meter', id: 'm-cert', password: null, clientCert: true }, { username: 'm-pw', kind: 'meter', id: 'm-pw' }], { deviceFile: devices });
  edge = await startEdge(
    edgeTestConfig(testPrefix('edge-tls'), {
      GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'false',
      GRIDWATCH_MQTT_CREDENTIALS: credentials,
      GRIDWATCH_MQTT_TLS_PORT: '0',
      GRIDWATCH_MQTT_WSS_PORT: '0',
      GRIDWATCH_MQTT_TLS_CERT: pki.serverCert,
      GRIDWATCH_MQTT_TLS_KEY: pki.serverKey,
      GRIDWATCH_MQTT_TLS_CA: pki.caFile,
      GRIDWATCH_MQTT_TLS_CLIENT_CERTS: 'optional',
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.endAsync(true).catch(() => undefined)));
  await edge?.stop();
});

const reading = (meterId: string, seq: number) => JSON.stringify({ meterId, seq, ts: Date.now(), voltage: 230.1 });

describe('edge gateway with TLS settings', () => {
  it('takes readings over TLS by certificate and over wss by password; anonymous is refused; a removed device is disconnected', async () => {
    const { tls, wss, tcp } = edge.mqttAddresses as { tls?: number; wss?: number; tcp: number };
    expect(tls).toBeGreaterThan(0);
    expect(wss).toBeGreaterThan(0);
    const ca = readFileSync(pki.caFile);
    const byCert = await connectMqtt(`mqtts://127.0.0.1:${tls}`, { ca, cert: readFileSync(pki.clients['m-cert']!.cert), key: readFileSync(pki.clients['m-cert']!.key), clientId: 'cert-1' });
    open.push(byCert);
    await byCert.publishAsync('meters/m-cert/reading', reading('m-cert', 1), { qos: 1 });
    const pw = readDeviceSecrets(devices)['m-pw']!;
    const byPassword = await connectMqtt(`wss://127.0.0.1:${wss}/`, { ca, username: pw.username, password: pw.password, clientId: 'pw-1' });
    open.push(byPassword);
    await byPassword.publishAsync('meters/m-pw/reading', reading('m-pw', 1), { qos: 1 });
    await expect(connectMqtt(`mqtt://127.0.0.1:${tcp}`, { clientId: 'anon-1' })).rejects.toThrow(/Not authorized|Bad username|closed/i);

    let certClosed = false;
    byCert.once('close', () => (certClosed = true));
    removeDevice(credentials, 'm-pw');
    await waitFor(() => !byPassword.connected, 10_000, 'the removed device to be disconnected');
    await byCert.publishAsync('meters/m-cert/reading', reading('m-cert', 2), { qos: 1 });
    expect(certClosed).toBe(false);
  });
});
