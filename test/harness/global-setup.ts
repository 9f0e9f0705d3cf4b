// vitest globalSetup for the `integration` project: real servers through the project's own harness.
// Servers that were already up (for example via `gridwatch services up`) are reused and left running;
// teardown stops only what this run spawned, and only while its pid file is still the one this run
// wrote (deploy/services/process.ts stopDecision). A server that cannot be provided fails the run: no skips.
import { endpointsToEnv, ensureServices, stopServices } from '../../deploy/services/index.ts';

/** GRIDWATCH_TEST_KAFKA_SECURE: unset or `true` is SASL_SSL; only an explicit `false` is plaintext; anything else is a mistake. */
export function kafkaSecureFromEnv(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`GRIDWATCH_TEST_KAFKA_SECURE must be true or false, got "${value}"`);
}

export default async function setup(): Promise<() => Promise<void>> {
  const t = Date.now();
  const { endpoints, started } = await ensureServices({
    services: ['kafka', 'minio', 'influxdb', 'mosquitto', 'toxiproxy'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  // Workers are started after global setup and inherit this environment; tests read it via testEndpoints()
  // and testKafkaSecurity(). Kafka is SASL_SSL as the admin principal (secure by default); plaintext
  // only when GRIDWATCH_TEST_KAFKA_SECURE=false is asked for, and said so (see docs/services.md).
  const kafkaSecure = kafkaSecureFromEnv(process.env.GRIDWATCH_TEST_KAFKA_SECURE);
  if (!kafkaSecure) {
    process.stderr.write('[harness] WARNING: GRIDWATCH_TEST_KAFKA_SECURE=false: Kafka over the PLAINTEXT listener, without TLS or authentication; the suite does not test what ships\n');
  }
  Object.assign(process.env, endpointsToEnv(endpoints, { kafkaSecure }));
  process.stderr.write(`[harness] Kafka: ${kafkaSecure ? 'SASL_SSL as User:admin' : 'PLAINTEXT'} at ${process.env.GRIDWATCH_KAFKA_BROKERS}\n`);
  process.stderr.write(`[harness] services ready in ${((Date.now() - t) / 1000).toFixed(1)}s; started by this run: ${started.join(', ') || 'none'}\n`);
  return async () => {
    if (started.length === 0) return;
    process.stderr.write(`[harness] stopping what this run started: ${started.join(', ')}\n`);
    await stopServices(started, { kafkaCluster: false, onlySpawnedHere: true });
  };
}
