/**
 * `gridwatch score`: reads ground truth and detections (a JSONL file, or the Kafka topics) and
 * prints precision, recall and F1 per anomaly type and per scope, root attribution and detection
 * delay. `--json` prints the report object for machines.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { validators, type Anomaly, type GridEvent } from '../shared/contracts/index.ts';
import { GridwatchError } from '../shared/errors.ts';
import { parseDuration } from '../shared/duration.ts';
import { score, type Prf, type ScoreReport } from './score.ts';
import { detectorTable, formatDetectorTable } from './score-detectors.ts';
import { readTruthFile } from './truth.ts';

const USAGE = `usage: gridwatch score --truth FILE [--detected FILE | --brokers HOST:PORT,...] [--tolerance 120s] [--json]

  --truth FILE        ground truth JSONL written by \`gridwatch simulate --truth\`
  --detected FILE     JSONL of v1 Anomaly and GridEvent records (mixed, one per line)
  --brokers LIST      read grid.anomalies and grid.events from Kafka instead (default: GRIDWATCH_KAFKA_BROKERS)
  --tolerance DUR     how far outside the fault window a detection may start (default 120s)
  --burst-window DUR  window of the largest-burst measure (default 60s)
  --timeout DUR       how long to wait to catch up on Kafka (default 60s)
  --json              print the report as JSON

  Beside the report: the per-detector table (simulator/score-detectors.ts): each rule class, all
  rules together and each model version (pattern anomalies by modelVersion), with precision,
  recall and F1 per fault type and scope on the same truth.

       gridwatch score --learned [--model DIR] [--json]
  rules vs the learned model, per subtle fault type, on the held-out test grids of the training
  plan, ending with the same per-detector table plus each model's ROC-AUC and PR-AUC over windows`;

/** Splits a mixed JSONL stream into anomalies and grid events; other lines are counted as invalid. */
export function parseDetectionsJsonl(text: string): { anomalies: Anomaly[]; events: GridEvent[]; invalid: number } {
  const out = { anomalies: [] as Anomaly[], events: [] as GridEvent[], invalid: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      out.invalid++;
      continue;
    }
    if (validators.anomaly.check(v)) out.anomalies.push(v);
    else if (validators.gridEvent.check(v)) out.events.push(v);
    else out.invalid++;
  }
  return out;
}

const pct = (x: number | null) => (x === null ? '   -  ' : `${(x * 100).toFixed(1).padStart(5)}%`);
const ms = (x: number | null) => (x === null ? '-' : x >= 10_000 ? `${(x / 1000).toFixed(1)}s` : `${Math.round(x)}ms`);

export function formatReport(r: ScoreReport): string {
  const row = (name: string, p: Prf) => `  ${name.padEnd(34)} ${pct(p.precision)} ${pct(p.recall)} ${pct(p.f1)}  ${String(p.truePositives).padStart(6)} ${String(p.falsePositives).padStart(6)} ${String(p.falseNegatives).padStart(6)}`;
  const head = `  ${''.padEnd(34)} ${'prec'.padStart(6)} ${'recall'.padStart(6)} ${'F1'.padStart(6)}  ${'TP'.padStart(6)} ${'FP'.padStart(6)} ${'FN'.padStart(6)}`;
  const lines = [
    `faults ${r.faults}, anomalies ${r.anomalies} (incidental ${r.incidentalAnomalies}), grid events ${r.events}, tolerance ${ms(r.toleranceMs)}`,
    '',
    'anomalies by type (recall over fault x meter pairs, precision over anomalies)',
    head,
    ...Object.entries(r.anomalyTypes).map(([k, v]) => row(k, v)),
    row('all', r.anomalyTotal),
    '',
    'grid events by scope',
    head,
    ...Object.entries(r.eventScopes).map(([k, v]) => row(k, v)),
    row('all', r.eventTotal),
    '',
    `root attribution: ${r.rootAttribution.correct}/${r.rootAttribution.matched} ${pct(r.rootAttribution.accuracy)}`,
    `detection delay (event time): p50 ${ms(r.delayMs.p50)}, p95 ${ms(r.delayMs.p95)} over ${r.delayMs.count} faults`,
    `detection latency (detectedAt/updatedAt): p50 ${ms(r.latencyMs.p50)}, p95 ${ms(r.latencyMs.p95)}`,
    `floods: events per fault ${r.flood.eventsPerFault === null ? '-' : r.flood.eventsPerFault.toFixed(2)} (${r.flood.attributedEvents} events, ${r.flood.faultsWithEvents} faults), meter events under a device event ${r.flood.meterEventsUnderDeviceEvent}, largest burst ${r.flood.largestBurst} events in ${ms(r.flood.burstWindowMs)}`,
    '',
    'per fault',
    ...r.perFault.map((f) => `  ${f.faultId.padEnd(28)} ${f.detected ? 'detected' : 'MISSED  '} meters ${pct(f.meterRecall)} root ${f.rootCorrect === null ? '-' : f.rootCorrect ? 'ok' : 'wrong'} delay ${ms(f.delayMs)} latency ${ms(f.latencyMs)} events ${f.events}${f.eventMeterRecall === null ? '' : ` (listing ${pct(f.eventMeterRecall).trim()} of its meters)`}`),
  ];
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  // Rules against the learned scorer on held-out simulated grids (central/learn/compare-main.ts).
  if (argv[0] === '--learned') return (await import('../central/learn/compare-main.ts')).run(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      truth: { type: 'string' },
      detected: { type: 'string' },
      brokers: { type: 'string' },
      tolerance: { type: 'string', default: '120s' },
      'burst-window': { type: 'string', default: '60s' },
      timeout: { type: 'string', default: '60s' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.truth) {
    console.error(`gridwatch score: --truth is required\n\n${USAGE}`);
    return 2;
  }
  // Flags first, before any file or server is touched.
  const toleranceMs = parseDuration(values.tolerance, '--tolerance');
  const timeoutMs = parseDuration(values.timeout, '--timeout');
  const burstWindowMs = parseDuration(values['burst-window'], '--burst-window');
  const truth = readTruthFile(values.truth);
  let detections: { anomalies: Anomaly[]; events: GridEvent[]; invalid: number };
  if (values.detected) {
    let text: string;
    try {
      text = readFileSync(values.detected, 'utf8');
    } catch (err) {
      throw new GridwatchError('CONFIG_INVALID', `cannot read --detected ${values.detected}: ${(err as Error).message}`, { cause: err });
    }
    detections = parseDetectionsJsonl(text);
  } else {
    const brokers = (values.brokers ?? process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter((b) => b !== '');
    if (brokers.length === 0) throw new GridwatchError('CONFIG_INVALID', 'give --detected FILE, or Kafka brokers with --brokers or GRIDWATCH_KAFKA_BROKERS');
    const { readDetectionsFromKafka } = await import('./kafka-detections.ts');
    detections = await readDetectionsFromKafka({ brokers, timeoutMs });
  }
  const report = score(truth, detections.anomalies, detections.events, { toleranceMs, burstWindowMs });
  // Every rule class and model version on the same truth (simulator/score-detectors.ts).
  const detectors = detectorTable(truth, detections.anomalies, { toleranceMs });
  if (values.json) console.log(JSON.stringify({ ...report, detectors, invalidRecords: detections.invalid }, null, 2));
  else console.log(formatReport(report) + '\n\n' + formatDetectorTable(detectors) + (detections.invalid > 0 ? `\n\n${detections.invalid} record(s) were not valid v1 anomalies or grid events and were ignored` : ''));
  return 0;
}
