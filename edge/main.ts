import { parseArgs } from 'node:util';
import { configReference, createLogger, Metrics, systemClock, type Logger } from '../shared/index.ts';
import { systemdNotifier } from '../shared/systemd.ts';
import { EdgeConfigSchema, loadEdgeConfig } from './config.ts';
import { hashPassword } from './ingest/auth.ts';
import { ServiceNotify } from './ops/service.ts';
import { EdgePipeline } from './pipeline.ts';

const HELP = `usage: gridwatch edge [--config FILE] [--print-config] [--hash-password PASSWORD]

Runs an edge gateway: MQTT in (embedded aedes), validation, per-meter detection, durable SQLite
outbox, store-and-forward to Kafka. Configuration comes from GRIDWATCH_* variables (and the
file named by GRIDWATCH_CONFIG or --config); see edge/README.md.

  --print-config          print every variable with its default and exit
  --hash-password PW      print a passwordHash for the credentials file and exit`;

/** `gridwatch edge`: runs until SIGTERM or SIGINT, then stops gracefully and returns 0. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, 'print-config': { type: 'boolean' }, 'hash-password': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values['print-config']) {
    for (const r of configReference(EdgeConfigSchema)) console.log(`${r.variable}\t${r.expected}\tdefault ${r.default}\t${r.description}`);
    return 0;
  }
  if (values['hash-password'] !== undefined) {
    console.log(await hashPassword(values['hash-password']));
    return 0;
  }
  const warnings: string[] = [];
  const config = loadEdgeConfig({ ...(values.config ? { file: values.config } : {}), warnings });
  const logger = createLogger({ program: 'edge', base: { edgeId: config.edgeId } });
  for (const w of warnings) logger.warn(w);
  const metrics = new Metrics('edge', { labels: { edge_id: config.edgeId } });
  const pipeline = await EdgePipeline.start({ config, logger, metrics });
  const service = startServiceNotify(pipeline, logger);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'stopping');
  service.notifyStopping();
  // A second signal while draining means "now": the outbox keeps whatever was not forwarded.
  const force = () => {
    logger.warn('second signal: exiting without waiting for the drain');
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await pipeline.stop();
  service.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 0;
}

/** Type=notify under systemd (deploy/systemd/gridwatch-edge.service); a no-op without NOTIFY_SOCKET. */
function startServiceNotify(pipeline: EdgePipeline, logger: Logger): ServiceNotify {
  let warned = false;
  const notifier = systemdNotifier(process.env, (err) => {
    // Once: a missing systemd-notify would otherwise log at every ping (and the watchdog says the rest).
    if (warned) return;
    warned = true;
    logger.warn({ err: err.message }, 'systemd-notify failed; systemd may not see readiness or watchdog pings');
  });
  const service = new ServiceNotify({
    notifier,
    clock: systemClock,
    sample: () => pipeline.serviceSample(),
    onVerdict: (v) => {
      if (v.healthy) logger.info('store commits again; systemd watchdog pings resumed');
      else logger.error({ reason: v.reason }, 'store not committing; systemd watchdog pings withheld, systemd will restart the gateway');
    },
  });
  if (notifier.enabled) logger.info({ watchdogPingMs: notifier.watchdogPingMs }, 'systemd notifications on');
  service.ready();
  return service.start();
}
