/**
 * `gridwatch bench --only mqtt-conns` (issue 12 goal 7): concurrent MQTT connections held by one
 * edge. The real `gridwatch edge` (anonymous, no topology, forwarding to the bench's own topics)
 * listens on 127.0.0.1:20400; four publisher processes open the connections from four source
 * addresses of 127.0.0.0/8 (127.0.0.2-5, so no address runs out of ephemeral ports), 250 CONNECTs
 * in flight each, raw MQTT 3.1.1 packets (mqtt-packet), keepalive 300 s. Once all are held: the
 * gateway's RSS and open file descriptors; then every connection publishes `perConnection` single
 * QoS 1 readings (one in flight per connection): the intake rate is the PUBACKed readings over the
 * wall time, RSS peak sampled from /proc. Bounded: every step has a timeout, the children are
 * killed at the end. BENCH_CONNS (default 20,000), BENCH_CONNS_READINGS (default 5 per connection).
 *
 * A process's descriptors are bounded by RLIMIT_NOFILE; the gateway needs one per connection plus
 * ~30 (SQLite, Kafka, listeners). The bench raises the soft limit to the hard one in the gateway's
 * shell (`ulimit -n`) and reports both: where the hard limit is 20,000 (this machine's), 20,000
 * connections cannot all be held and the refused ones are counted, not hidden.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchFigure } from './figures.ts';
import { deleteTopicsWithPrefix } from './edge-fleet.ts';

const MQTT_PORT = 20400; // helper wan's range (HELPERS.md): one gateway at a time
const HTTP_PORT = 20401;

// One publisher process: `count` connections from `localAddress`, then `readings` QoS 1 readings each.
const PUBLISHER = `
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
const o = JSON.parse(process.env.BENCH_OPTS);
const socks = [];
let connected = 0, refused = 0, acked = 0;
const pending = new Map();
function open(i) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port: o.port, localAddress: o.localAddress });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let ok = false;
    const fail = () => { if (!ok) { ok = true; refused++; resolve(); } };
    s.on('error', fail); s.on('close', () => { fail(); s.closed_ = true; });
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') { if (!ok) { ok = true; if (p.returnCode === 0) { connected++; socks.push({ s, i }); } else refused++; resolve(); } }
      else if (p.cmd === 'puback') { acked++; const r = pending.get(s); if (r) { pending.delete(s); r(); } }
    });
    s.on('data', (d) => parser.parse(d));
    s.on('connect', () => s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'c' + o.base + '-' + i, keepalive: 300 })));
    setTimeout(fail, 60000).unref();
  });
}
const t0 = performance.now();
for (let i = 0; i < o.count; i += o.inFlight) await Promise.all(Array.from({ length: Math.min(o.inFlight, o.count - i) }, (_, k) => open(i + k)));
process.stdout.write(JSON.stringify({ phase: 'connected', connected, refused, ms: performance.now() - t0 }) + '\\n');
// The parent says go (a line on stdin) once every publisher holds its connections.
await new Promise((r) => process.stdin.once('data', r));
const t1 = performance.now();
let mid = 1;
await Promise.all(socks.map(async ({ s, i }) => {
  for (let n = 0; n < o.readings && !s.closed_; n++) {
    const id = 'm' + o.base + '-' + i;
    const payload = '{"meterId":"' + id + '","ts":' + Date.now() + ',"seq":' + (n + 1) + ',"voltage":230.1,"current":1.2,"power":0.276,"frequency":50.01,"energy":' + (1000 + n) + '}';
    await new Promise((r) => { pending.set(s, r); s.write(mqttPacket.generate({ cmd: 'publish', topic: 'meters/' + id + '/reading', payload, qos: 1, messageId: (mid++ % 65535) + 1, retain: false, dup: false })); });
  }
}));
process.stdout.write(JSON.stringify({ phase: 'published', acked, ms: performance.now() - t1, stillOpen: socks.filter((x) => !x.s.closed_).length }) + '\\n');
await new Promise((r) => process.stdin.once('data', r));
for (const { s } of socks) s.destroy();
process.exit(0);
`;

function procStatus(pid: number): { rssMb: number; fds: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMb: Math.round(Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024), fds: readdirSync(`/proc/${pid}/fd`).length };
}
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${HTTP_PORT}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}
const within = async <T>(ms: number, what: string, p: Promise<T>): Promise<T> => {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: not within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(t));
};

export async function benchMqttConns(opts: { log: (line: string) => void }): Promise<Record<string, unknown>> {
  const { loadProbe } = await import('./report.ts');
  const { benchKafka } = await import('./kafka-env.ts');
  const probe = loadProbe();
  const target = Number(process.env.BENCH_CONNS ?? 20_000);
  // The gateway inherits this process's hard limit; it needs ~30 descriptors besides its sockets
  // (SQLite, WAL, Kafka, listeners) and dies (EMFILE on its own files) when connections take them
  // all: measured at 19,970 sockets under a hard limit of 20,000. So it is told to stop accepting
  // 256 short of the limit (mqttMaxConnections), and what the limit refused is counted.
  const hard = Number(/Max open files\s+\S+\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
  const maxConnections = Math.min(Math.max(20_000, target), Number.isFinite(hard) ? hard - 256 : Infinity);
  const perConnection = Number(process.env.BENCH_CONNS_READINGS ?? 5);
  const publishers = 4;
  const dir = mkdtempSync(join(tmpdir(), 'gridwatch-bench-conns-'));
  const prefix = `bench-conns-${Date.now().toString(36)}-${process.pid}.`;
  const env: NodeJS.ProcessEnv = {
    ...process.env, // GRIDWATCH_KAFKA_* as the services set them
    GRIDWATCH_EDGE_ID: 'bench-conns', GRIDWATCH_DATA_DIR: join(dir, 'data'),
    GRIDWATCH_MQTT_HOST: '127.0.0.1', GRIDWATCH_MQTT_PORT: String(MQTT_PORT), GRIDWATCH_HTTP_PORT: String(HTTP_PORT),
    GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true', GRIDWATCH_MQTT_MAX_CONNECTIONS: String(maxConnections),
    GRIDWATCH_KAFKA_BROKERS: benchKafka().brokers.join(','), GRIDWATCH_KAFKA_TOPIC_PREFIX: prefix, GRIDWATCH_LOG_LEVEL: 'warn',
  };
  // The soft limit up to the hard one (a shell builtin: the gateway inherits it).
  const gw: ChildProcess = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)"; echo "nofile $(ulimit -n) hard $(ulimit -Hn)" >&2; exec "$0" bin/gridwatch.js edge', process.execPath], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let limits = '';
  let logTail = ''; // the gateway's last log lines, said if it dies
  gw.stdout!.on('data', (d: Buffer) => (logTail = (logTail + d.toString()).slice(-3000)));
  gw.once('exit', (code, signal) => { if (code !== 0) opts.log(`gateway exited (code ${code}, signal ${signal}); its last log lines:\n${logTail}`); });
  gw.stderr!.on('data', (d: Buffer) => {
    const t = d.toString();
    if (t.startsWith('nofile')) limits = t.trim();
    else process.stderr.write(t);
  });
  const kids: ChildProcess[] = [];
  try {
    await within(90_000, 'gateway ready', (async () => {
      while (!(await fetch(`http://127.0.0.1:${HTTP_PORT}/readyz`).then((r) => r.ok, () => false))) {
        if (gw.exitCode !== null) throw new Error(`gateway exited ${gw.exitCode}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    })());
    const pid = gw.pid!;
    const idle = procStatus(pid);
    const lines: { phase: string; [k: string]: number | string }[][] = [];
    const waitAll = (phase: string) => within(300_000, `publishers ${phase}`, (async () => {
      while (lines.filter((l) => l.some((x) => x.phase === phase)).length < publishers) {
        if (kids.some((k) => k.exitCode !== null)) throw new Error('a publisher exited early');
        await new Promise((r) => setTimeout(r, 100));
      }
      return lines.map((l) => l.find((x) => x.phase === phase)!);
    })());
    const t0 = performance.now();
    for (let k = 0; k < publishers; k++) {
      const count = Math.floor(target / publishers) + (k < target % publishers ? 1 : 0);
      const child = spawn(process.execPath, ['--input-type=module', '-e', PUBLISHER], { cwd: process.cwd(), env: { ...process.env, BENCH_OPTS: JSON.stringify({ port: MQTT_PORT, localAddress: `127.0.0.${2 + k}`, count, base: k, inFlight: 250, readings: perConnection }) }, stdio: ['pipe', 'pipe', 'inherit'] });
      const mine: (typeof lines)[number] = [];
      lines.push(mine);
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) mine.push(JSON.parse(buf.slice(0, i)));
      });
      kids.push(child);
    }
    const conn = await waitAll('connected');
    const connectS = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 2000)); // settled: keepalive timers, buffers
    const held = procStatus(pid);
    const connected = conn.reduce((s, x) => s + Number(x.connected), 0);
    const refused = conn.reduce((s, x) => s + Number(x.refused), 0);
    opts.log(`${connected} of ${target} connections held (${refused} refused; the gateway takes ${maxConnections}) in ${connectS.toFixed(1)} s; gateway RSS ${idle.rssMb} -> ${held.rssMb} MB, ${held.fds} fds (${limits})`);
    let rssPeak = held.rssMb;
    const timer = setInterval(() => {
      if (gw.exitCode === null) rssPeak = Math.max(rssPeak, procStatus(pid).rssMb);
    }, 200);
    const accepted0 = await metric('gridwatch_edge_readings_accepted_total');
    const t1 = performance.now();
    for (const k of kids) k.stdin!.write('go\n');
    const pub = await waitAll('published');
    const publishS = (performance.now() - t1) / 1000;
    clearInterval(timer);
    const acked = pub.reduce((s, x) => s + Number(x.acked), 0);
    const accepted = (await metric('gridwatch_edge_readings_accepted_total')) - accepted0;
    const stillOpen = pub.reduce((s, x) => s + Number(x.stillOpen), 0);
    const intake = Math.round(acked / publishS);
    opts.log(`${acked} readings PUBACKed (${accepted} accepted) over ${stillOpen} connections in ${publishS.toFixed(1)} s: ${intake}/s, RSS peak ${rssPeak} MB`);
    for (const k of kids) k.stdin!.write('end\n');
    const figures: BenchFigure[] = [
      { id: 'edge.conns.held', figure: `MQTT connections held by one edge (of ${target}; ${limits || 'limits unknown'}, so mqttMaxConnections ${maxConnections})`, value: connected, unit: 'connections', higherIsBetter: true, goal: { text: '>= 20,000', on: 'value', min: 20_000 } },
      { id: 'edge.conns.rss', figure: 'edge RSS with them held (idle)', value: held.rssMb, unit: 'MB', higherIsBetter: false, yardstick: { name: 'RSS ready, no connection', value: idle.rssMb }, ratio: Math.round((held.rssMb / idle.rssMb) * 100) / 100 },
      { id: 'edge.conns.kb_per_connection', figure: 'edge RSS per held connection', value: Math.round(((held.rssMb - idle.rssMb) * 1024 / Math.max(1, connected)) * 10) / 10, unit: 'KB', higherIsBetter: false },
      { id: 'edge.conns.intake', figure: `edge intake with them held, ${perConnection} single QoS 1 readings per connection, one in flight each`, value: intake, unit: 'readings/s', higherIsBetter: true },
      { id: 'edge.conns.rss_peak', figure: 'edge RSS peak while they publish', value: rssPeak, unit: 'MB', higherIsBetter: false },
    ];
    return { figures, load: probe.end(), target, maxConnections, connected, refused, connectS, limits, rssReadyMb: idle.rssMb, rssHeldMb: held.rssMb, fdsHeld: held.fds, acked, accepted, stillOpen, publishS, intakePerSec: intake, rssPeakMb: rssPeak };
  } finally {
    for (const k of kids) k.kill('SIGKILL');
    gw.kill('SIGTERM');
    await within(30_000, 'gateway stop', new Promise((r) => (gw.exitCode !== null ? r(null) : gw.once('exit', r)))).catch(() => gw.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
    await deleteTopicsWithPrefix(benchKafka().brokers, prefix).catch((err: Error) => opts.log(`could not delete ${prefix}*: ${err.message}`));
  }
}
