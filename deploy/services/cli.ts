// `gridwatch services up|down|status|env [--cluster] [service ...]`: the harness for people.
import { existsSync } from 'node:fs';
import { installedVersion } from './debian.ts';
import { influxAnswers, influxdBinary } from './influxdb.ts';
import { harnessSecurity } from './kafka-acl.ts';
import { kafkaPki } from './kafka-pki.ts';
import { kafkaAnswers, kafkaProvisioned, kafkaStatus } from './kafka.ts';
import { ALL_SERVICES, KAFKA_PLAINTEXT_LISTENER, type ServiceName, cacheDir, paths } from './layout.ts';
import { minioAnswers, minioBinary } from './minio.ts';
import { mqttAnswers, mqttUrl } from './mosquitto.ts';
import { runningRecord } from './process.ts';
import { DEBIAN_PACKAGES, INFLUXD_VERSION, KAFKA_VERSION, MINIO_VERSION } from './versions.ts';

const USAGE = `usage: gridwatch services <up|down|status|env> [--cluster] [--kafka-plaintext] [kafka|minio|influxdb|mosquitto ...]

  up       provision (first time) and start the servers on loopback; waits until each answers
  down     stop the servers that \`up\` started (pid files in the cache)
  status   show each server: provisioned, running, endpoint
  env      print export lines:  eval "$(gridwatch services env)"

  --cluster  Kafka as a three-node cluster (127.0.0.1:19192,19292,19392) instead of one node
  --kafka-plaintext  env/up: Kafka over the plaintext listener (127.0.0.1:19092, no TLS, no
             authentication; the bench's yardstick) instead of the default: SASL_SSL
             (127.0.0.1:19094) as the admin principal, with the local CA and the admin's client
             certificate. Said on stderr when chosen.
  Kafka certificates, CA and principals' passwords: <cache>/etc/kafka-pki
  cache: $GRIDWATCH_CACHE_DIR or ~/.cache/gridwatch (logs in <cache>/logs)`;

function parse(argv: string[]): { command: string | undefined; cluster: boolean; kafkaPlaintext: boolean; services: ServiceName[]; bad: string[] } {
  const [command, ...rest] = argv;
  const services: ServiceName[] = [];
  const bad: string[] = [];
  let cluster = false;
  let kafkaPlaintext = false;
  for (const arg of rest) {
    if (arg === '--cluster') cluster = true;
    else if (arg === '--kafka-plaintext') kafkaPlaintext = true;
    // The old opt-in, now the default: accepted so scripts written for it keep working.
    else if (arg === '--kafka-secure') kafkaPlaintext = false;
    else if ((ALL_SERVICES as readonly string[]).includes(arg)) services.push(arg as ServiceName);
    else bad.push(arg);
  }
  return { command, cluster, kafkaPlaintext, services: services.length ? services : [...ALL_SERVICES], bad };
}

const shellQuote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

async function status(cluster: boolean): Promise<void> {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const rows: string[][] = [['service', 'version', 'provisioned', 'running', 'started by gridwatch', 'endpoint']];
  const kafkaNodes = kafkaStatus().filter((n) => (cluster ? n.name !== 'kafka' : n.name === 'kafka' || n.running));
  const security = existsSync(kafkaPki().caFile) ? harnessSecurity(kafkaPki()) : undefined;
  for (const n of kafkaNodes) {
    const answers = security ? await kafkaAnswers([n.endpoint], 1, security) : false;
    rows.push([n.name, KAFKA_VERSION, yes(kafkaProvisioned()), yes(answers), yes(n.running), `${n.endpoint} (SASL_SSL), ${n.plaintextEndpoint} (plaintext, ${KAFKA_PLAINTEXT_LISTENER})`]);
  }
  rows.push(['minio', MINIO_VERSION, yes(existsSync(minioBinary())), yes(await minioAnswers()), yes(!!runningRecord('minio')), 'http://127.0.0.1:19000']);
  rows.push(['influxdb', INFLUXD_VERSION, yes(existsSync(influxdBinary())), yes(await influxAnswers()), yes(!!runningRecord('influxdb')), 'http://127.0.0.1:18086']);
  const mosq = await installedVersion(DEBIAN_PACKAGES.mosquitto.pkg);
  rows.push(['mosquitto', mosq ?? DEBIAN_PACKAGES.mosquitto.version, yes(mosq !== undefined), yes(await mqttAnswers()), yes(!!runningRecord('mosquitto')), mqttUrl]);
  for (const tool of ['mosquittoClients', 'kcat', 'prometheus', 'docker-compose'] as const) {
    const v = await installedVersion(DEBIAN_PACKAGES[tool].pkg);
    rows.push([tool === 'prometheus' ? 'promtool' : tool, v ?? DEBIAN_PACKAGES[tool].version, yes(v !== undefined), '-', '-', DEBIAN_PACKAGES[tool].binary]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  console.log(`\ncache ${cacheDir()}  logs ${paths.logs()}`);
}

export async function servicesCommand(argv: string[]): Promise<number> {
  const { command, cluster, kafkaPlaintext, services, bad } = parse(argv);
  const kafkaSecure = !kafkaPlaintext;
  // `gridwatch services status | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (bad.length > 0) {
    console.error(`gridwatch services: unknown argument(s) ${bad.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  // Imported lazily: index.ts re-exports this module.
  const { endpointsToEnv, ensureServices, serviceEndpoints, stopServices } = await import('./index.ts');
  // A less safe mode is an explicit choice, and said so (on stderr: `eval "$(... env)"` reads stdout).
  const plaintextWarning = (): void => {
    if (kafkaPlaintext) console.error('[services] WARNING: --kafka-plaintext: Kafka over the PLAINTEXT listener, without TLS or authentication');
  };
  switch (command) {
    case 'up': {
      plaintextWarning();
      const { endpoints } = await ensureServices({ services, kafkaCluster: cluster });
      for (const [k, v] of Object.entries(endpointsToEnv(endpoints, { kafkaSecure }))) console.error(`  ${k}=${v}`);
      return 0;
    }
    case 'down':
      await stopServices(services, argv.includes('--cluster') ? { kafkaCluster: true } : {});
      console.error(`[services] stopped what gridwatch had started: ${services.join(', ')}`);
      return 0;
    case 'status':
      await status(cluster);
      return 0;
    case 'env':
      plaintextWarning();
      for (const [k, v] of Object.entries(endpointsToEnv(serviceEndpoints({ kafkaCluster: cluster }), { kafkaSecure }))) console.log(`export ${k}=${shellQuote(v)}`);
      return 0;
    default:
      console.error(`gridwatch services: unknown subcommand "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/** Entry point used by cli/main.ts. */
export const run = servicesCommand;
