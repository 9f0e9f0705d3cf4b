// vitest globalSetup for the `integration` project: real servers through the project's own harness.
// Servers that were already up (for example via `gridwatch services up`) are reused and left running;
// teardown stops only what this run started. A server that cannot be provided fails the run: no skips.
import { endpointsToEnv, ensureServices, stopServices } from '../../deploy/services/index.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const t = Date.now();
  const { endpoints, started } = await ensureServices({
    services: ['kafka', 'minio', 'influxdb', 'mosquitto', 'toxiproxy'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  // Workers are started after global setup and inherit this environment; tests read it via testEndpoints().
  // GRIDWATCH_TEST_KAFKA_SECURE=true: Kafka over SASL_SSL as the admin principal (the flip; see docs/services.md).
  Object.assign(process.env, endpointsToEnv(endpoints, { kafkaSecure: process.env.GRIDWATCH_TEST_KAFKA_SECURE === 'true' }));
  process.stderr.write(`[harness] services ready in ${((Date.now() - t) / 1000).toFixed(1)}s; started by this run: ${started.join(', ') || 'none'}\n`);
  return async () => {
    if (started.length === 0) return;
    process.stderr.write(`[harness] stopping what this run started: ${started.join(', ')}\n`);
    await stopServices(started, { kafkaCluster: false });
  };
}
