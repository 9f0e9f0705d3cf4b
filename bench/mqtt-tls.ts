/**
 * The cost of TLS at the edge's MQTT listener for single QoS 1 readings (`gridwatch bench --only
 * mqtt-tls`): the real gateway intake (aedes -> validate -> detect -> SQLite outbox, FULL sync ->
 * PUBACK) with its TCP and TLS listeners on one store, and a bare aedes over TCP and over TLS (TLS's
 * own cost without the gateway's work). The same MQTT.js publisher as the edge part (bench/edge.ts,
 * a child process, 1000 QoS 1 messages in flight, one reading per message; throwaway CA, RSA 2048
 * server key, TLS 1.3 as Node negotiates it). Pairs alternate which side goes first, so a burst of
 * other work on the shared machine hits both alike; each figure is the median of the pairs' ratios.
 * The full edge part measures the same pairs among its other phases; this part runs them alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareAedes, benchTls, phase, runPublisher, startGateway } from './edge.ts';
import type { BenchFigure } from './figures.ts';
import { loadProbe } from './report.ts';

export interface MqttTlsBenchOptions {
  /** Readings per side of a pair (default 40,000). */
  readings?: number;
  /** TCP/TLS pairs (default 5). */
  pairs?: number;
  log?: (line: string) => void;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (n: number) => Math.round(n * 100) / 100;

export async function benchMqttTls(opts: MqttTlsBenchOptions = {}): Promise<Record<string, unknown>> {
  const probe = loadProbe();
  const n = opts.readings ?? 40_000;
  const pairs = opts.pairs ?? 5;
  const log = opts.log ?? (() => undefined);
  const meters = 2_000;
  const window = 1_000;
  const dir = mkdtempSync(join(tmpdir(), 'gridwatch-bench-mqtt-tls-'));
  try {
    const tls = await benchTls(join(dir, 'pki'));

    // Bare aedes: what TLS costs a broker that does nothing else.
    const [tcpB, tlsB] = [await bareAedes(), await bareAedes(tls)];
    const bare = { tcp: [] as number[], tls: [] as number[], ratio: [] as number[] };
    for (let i = 0; i < pairs; i++) {
      const sides = i % 2 === 0 ? (['tcp', 'tls'] as const) : (['tls', 'tcp'] as const);
      const rate: Record<string, number> = {};
      for (const side of sides) {
        const r = await runPublisher({ url: side === 'tcp' ? tcpB.url : tlsB.url, ...(side === 'tls' ? { ca: tls.ca } : {}), prefix: `bare${side}${i}-m`, qos: 1, messages: n, arraySize: 1, meters, window });
        rate[side] = Math.round((n / r.elapsedMs) * 1000);
      }
      bare.tcp.push(rate.tcp!);
      bare.tls.push(rate.tls!);
      bare.ratio.push(r2(rate.tls! / rate.tcp!));
    }
    await tcpB.close();
    await tlsB.close();
    log(`bare aedes QoS 1: TCP ${bare.tcp.join(' / ')}, TLS ${bare.tls.join(' / ')} msg/s; TLS/TCP ${bare.ratio.join(' / ')} (median ${median(bare.ratio)})`);

    // The gateway: both listeners on one intake and store.
    const gw = await startGateway(join(dir, 'store'), {}, 'FULL', tls);
    const common = { qos: 1 as const, size: 1, n, meters, window, log: () => undefined };
    const scratch: Record<string, unknown> = {};
    // A warm-up the figures do not use (first SQLite pages, JIT, TLS session machinery).
    await phase(gw, scratch, { ...common, n: Math.ceil(n / 4), name: 'warmupPerSec' });
    const g = { tcp: [] as number[], tls: [] as number[], ratio: [] as number[], cpuTcp: [] as number[], cpuTls: [] as number[] };
    for (let i = 0; i < pairs; i++) {
      const sides = i % 2 === 0 ? (['tcp', 'tls'] as const) : (['tls', 'tcp'] as const);
      for (const side of sides) await phase(gw, scratch, { ...common, name: `p${i}${side}PerSec`, ...(side === 'tls' ? { tls } : {}) });
      g.tcp.push(scratch[`p${i}tcpPerSec`] as number);
      g.tls.push(scratch[`p${i}tlsPerSec`] as number);
      g.ratio.push(r2((scratch[`p${i}tlsPerSec`] as number) / (scratch[`p${i}tcpPerSec`] as number)));
      g.cpuTcp.push(scratch[`p${i}tcpCpuUsPerReading`] as number);
      g.cpuTls.push(scratch[`p${i}tlsCpuUsPerReading`] as number);
    }
    await gw.close();
    gw.store.close();
    const cpuRatio = median(g.cpuTcp.map((t, i) => r2(g.cpuTls[i]! / t)));
    log(`gateway QoS 1 single: TCP ${g.tcp.join(' / ')}, TLS ${g.tls.join(' / ')} readings/s; TLS/TCP ${g.ratio.join(' / ')} (median ${median(g.ratio)}); CPU µs/reading TCP ${g.cpuTcp.join(' / ')}, TLS ${g.cpuTls.join(' / ')} (median ratio ${cpuRatio})`);

    const figures: BenchFigure[] = [
      { id: 'mqtt.tls.gateway_qos1_single', figure: 'gateway intake over TLS, single QoS 1 readings into the durable outbox', value: median(g.tls), unit: 'readings/s', higherIsBetter: true, yardstick: { name: 'same gateway over TCP', value: median(g.tcp) }, ratio: median(g.ratio) },
      { id: 'mqtt.tls.gateway_cpu_per_reading', figure: "gateway CPU per single QoS 1 reading over TLS (this process's user+system)", value: median(g.cpuTls), unit: 'µs/reading', higherIsBetter: false, yardstick: { name: 'over TCP', value: median(g.cpuTcp) }, ratio: cpuRatio },
      { id: 'mqtt.tls.bare_aedes_qos1', figure: 'bare aedes over TLS, single QoS 1 messages', value: median(bare.tls), unit: 'msg/s', higherIsBetter: true, yardstick: { name: 'bare aedes over TCP', value: median(bare.tcp) }, ratio: median(bare.ratio) },
    ];
    return {
      figures,
      load: probe.end(),
      readingsPerSide: n,
      pairs,
      gatewayTcpPerSec: g.tcp,
      gatewayTlsPerSec: g.tls,
      ratioGatewayTlsVsTcpPairs: g.ratio,
      gatewayCpuUsPerReadingTcp: g.cpuTcp,
      gatewayCpuUsPerReadingTls: g.cpuTls,
      bareTcpPerSec: bare.tcp,
      bareTlsPerSec: bare.tls,
      ratioBareTlsVsTcpPairs: bare.ratio,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
