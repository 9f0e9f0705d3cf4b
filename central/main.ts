import { parseArgs } from 'node:util';
import { configReference, createLogger, Metrics } from '../shared/index.ts';
import { CentralConfigSchema, loadCentralConfig } from './config.ts';
import { createCentralPipeline } from './pipeline.ts';

const HELP = `usage: gridwatch central [--config FILE] [--print-config]

Runs a central aggregator: one member of the consumer group GRIDWATCH_CENTRAL_GROUP that reads
grid.anomalies, grid.readings, grid.gaps and grid.events (its share of the partitions), reads
grid.topology, grid.edge-status and grid.central-state whole, correlates anomalies into grid
events on grid.events, archives to MinIO/S3 (or GRIDWATCH_ARCHIVE_DIR) and InfluxDB, and serves
the API, the live console, /metrics, /healthz and /readyz on GRIDWATCH_HTTP_PORT.
Configuration comes from GRIDWATCH_* variables (and the file named by GRIDWATCH_CONFIG or
--config); see central/README.md.

  --print-config          print every variable with its default and exit`;

/** \`gridwatch central\`: runs until SIGTERM or SIGINT, then hands over gracefully and returns 0. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, 'print-config': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values['print-config']) {
    for (const r of configReference(CentralConfigSchema)) console.log(`${r.variable}\t${r.expected}\tdefault ${r.default}\t${r.description}`);
    return 0;
  }
  const warnings: string[] = [];
  const config = loadCentralConfig({ ...(values.config ? { file: values.config } : {}), warnings });
  const logger = createLogger({ program: 'central', level: config.logLevel });
  for (const w of warnings) logger.warn(w);
  const metrics = new Metrics('central');
  const pipeline = await createCentralPipeline({ config, logger, metrics, correlate: { ...config.correlate } });
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  try {
    await pipeline.start();
  } catch (err) {
    await pipeline.stop().catch(() => undefined);
    throw err;
  }
  const signal = await stopped;
  logger.info({ signal }, 'signal received: stopping');
  const force = (): void => {
    logger.warn('second signal: exiting without finishing the hand-over');
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await pipeline.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 0;
}
