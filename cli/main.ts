import { GridwatchError } from '../shared/errors.ts';

/**
 * `gridwatch <command>`: one command line for every program. Each command lives in its own
 * module exporting `run(argv): Promise<number>` (the exit code); this file only dispatches, and
 * loads only the command that runs (an edge gateway never loads the aggregator's libraries).
 */
interface CommandModule {
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, { module: string; summary: string }> = {
  edge: { module: '../edge/main.ts', summary: 'run an edge gateway (MQTT in, detection, store-and-forward to Kafka)' },
  central: { module: '../central/main.ts', summary: 'run a central aggregator (correlation, archives, API, console)' },
  simulate: { module: '../simulator/main.ts', summary: 'simulate a grid with injected faults and flood MQTT' },
  score: { module: '../simulator/score-main.ts', summary: 'score detected anomalies and events against ground truth' },
  models: { module: '../cli/models.ts', summary: 'the model registry: list|upload|promote|shadow|canary|rollback (MinIO bucket + grid.models)' },
  train: { module: '../central/learn/train-main.ts', summary: 'train the learned scorers on simulated grids and write the default model (Python venv)' },
  demo: { module: '../cli/demo.ts', summary: 'run the whole pipeline on this machine and score it' },
  soak: { module: '../cli/soak.ts', summary: 'run the whole pipeline at 10,000 readings/s for a long time; report RSS, handles, lag and losses' },
  services: { module: '../deploy/services/cli.ts', summary: 'provision and run Kafka, MinIO, InfluxDB, Mosquitto: up|down|status|env' },
  credentials: { module: '../cli/credentials.ts', summary: 'MQTT device credentials (add-device|remove|list) and API tokens (add-token|revoke|list-tokens)' },
  replay: { module: '../cli/replay.ts', summary: 'replay a time range of the archive into InfluxDB or a Kafka topic (idempotent, resumable)' },
  bench: { module: '../bench/main.ts', summary: 'run the benchmarks (edge, central, simulator)' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return ['usage: gridwatch <command> [options]', '', 'commands:', ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(width)}  ${d.summary}`), '', 'Run `gridwatch <command> --help` for its options.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return command ? 0 : 2;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    console.error(`gridwatch: unknown command "${command}"\n\n${usage()}`);
    return 2;
  }
  try {
    const mod = (await import(entry.module)) as CommandModule;
    return await mod.run(rest);
  } catch (err) {
    return failed(command, err);
  }
}

/** Prints why a command failed and returns its exit code (also the prebuilt gateway's, edge/entry.ts). */
export function failed(command: string, err: unknown): number {
  if (err instanceof GridwatchError) {
    console.error(`gridwatch ${command}: ${err.code}: ${err.message}`);
    return err.code === 'CONFIG_INVALID' ? 78 : 1; // 78 = EX_CONFIG
  }
  console.error(`gridwatch ${command}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}
