/**
 * Generates the provisioned Grafana dashboards (deploy/grafana/dashboards/*.json) so that panels
 * stay uniform and every query can be checked against the metrics the code exports
 * (test/deploy/grafana.test.ts). Run: node --import tsx deploy/grafana/dashboards.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Panel {
  title: string;
  expr: string | string[];
  unit?: string;
  legend?: string;
  kind?: 'timeseries' | 'stat';
  datasource?: 'prometheus' | 'influxdb';
}

function dashboard(uid: string, title: string, rows: Panel[][]): Record<string, unknown> {
  let id = 1;
  const panels: Record<string, unknown>[] = [];
  rows.forEach((row, r) => {
    const width = Math.floor(24 / row.length);
    row.forEach((p, i) => {
      const ds = p.datasource ?? 'prometheus';
      const exprs = Array.isArray(p.expr) ? p.expr : [p.expr];
      panels.push({
        id: id++,
        type: p.kind ?? 'timeseries',
        title: p.title,
        gridPos: { x: i * width, y: r * 8, w: width, h: 8 },
        datasource: { type: ds, uid: ds },
        fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
        targets: exprs.map((expr, k) =>
          ds === 'prometheus'
            ? { refId: String.fromCharCode(65 + k), expr, legendFormat: p.legend ?? '__auto', datasource: { type: ds, uid: ds } }
            : { refId: String.fromCharCode(65 + k), query: expr, datasource: { type: ds, uid: ds } },
        ),
      });
    });
  });
  return {
    uid,
    title,
    tags: ['gridwatch'],
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    panels,
  };
}

export const DASHBOARDS: Record<string, Record<string, unknown>> = {
  'grid-overview.json': dashboard('gridwatch-grid', 'gridwatch: grid overview', [
    [
      { title: 'Open grid events by severity', expr: 'max by (severity) (sum by (instance, severity) (gridwatch_central_open_events))', kind: 'stat' },
      { title: 'Grid event publications by type', expr: 'sum by (type, scope) (rate(gridwatch_central_grid_events_total[5m]))', unit: 'ops' },
    ],
    [
      { title: 'Anomalies detected at the edge by type', expr: 'sum by (type) (rate(gridwatch_edge_anomalies_total[5m]))', unit: 'ops' },
      { title: 'Readings accepted per second', expr: 'sum(rate(gridwatch_edge_readings_accepted_total[1m]))', unit: 'ops' },
    ],
    [
      {
        title: 'Feeder voltage, one-minute mean (InfluxDB)',
        datasource: 'influxdb',
        unit: 'volt',
        expr: 'from(bucket: "gridwatch") |> range(start: v.timeRangeStart, stop: v.timeRangeStop) |> filter(fn: (r) => r._measurement == "feeder_1m" and r._field == "v_mean") |> group(columns: ["substation", "feeder"]) |> aggregateWindow(every: 1m, fn: mean)',
      },
    ],
    // IEEE 1366 numerators per day from the closed outage events (InfluxDB does not know the
    // customers served, nor per-meter restorations or the planned flag: GET /api/reliability has
    // the indices themselves). Divide by the meters served for SAIFI and SAIDI.
    [
      {
        title: 'Reliability: customer interruptions per day, sustained outages (SAIFI numerator)',
        datasource: 'influxdb',
        unit: 'short',
        expr: 'from(bucket: "gridwatch") |> range(start: v.timeRangeStart, stop: v.timeRangeStop) |> filter(fn: (r) => r._measurement == "grid_event" and r.type == "outage" and r.state == "closed") |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> filter(fn: (r) => r.durationMs >= 300000) |> map(fn: (r) => ({ _time: r._time, substation: r.substation, _value: float(v: r.affectedCount) })) |> group(columns: ["substation"]) |> aggregateWindow(every: 1d, fn: sum, createEmpty: false)',
      },
      {
        title: 'Reliability: customer minutes of interruption per day (SAIDI numerator)',
        datasource: 'influxdb',
        unit: 'short',
        expr: 'from(bucket: "gridwatch") |> range(start: v.timeRangeStart, stop: v.timeRangeStop) |> filter(fn: (r) => r._measurement == "grid_event" and r.type == "outage" and r.state == "closed") |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> filter(fn: (r) => r.durationMs >= 300000) |> map(fn: (r) => ({ _time: r._time, substation: r.substation, _value: float(v: r.affectedCount) * float(v: r.durationMs) / 60000.0 })) |> group(columns: ["substation"]) |> aggregateWindow(every: 1d, fn: sum, createEmpty: false)',
      },
    ],
  ]),
  'edge-gateways.json': dashboard('gridwatch-edge', 'gridwatch: edge gateways', [
    [
      { title: 'Accepted readings/s by gateway', expr: 'sum by (instance) (rate(gridwatch_edge_readings_accepted_total[1m]))', unit: 'ops' },
      { title: 'Rejected readings/s by reason', expr: 'sum by (reason) (rate(gridwatch_edge_readings_rejected_total[5m]))', unit: 'ops' },
    ],
    [
      { title: 'Outbox depth', expr: 'sum by (instance) (gridwatch_outbox_depth)' },
      { title: 'Outbox oldest record age', expr: 'max by (instance) (gridwatch_outbox_oldest_age_seconds)', unit: 's' },
    ],
    [
      { title: 'Publish to commit p99', expr: 'histogram_quantile(0.99, sum by (le, instance) (rate(gridwatch_edge_publish_to_commit_seconds_bucket[5m])))', unit: 's' },
      { title: 'Forwarded to Kafka per second', expr: 'sum by (instance) (rate(gridwatch_forwarded_records_total[1m]))', unit: 'ops' },
    ],
    [
      { title: 'Forwarding errors/s', expr: 'sum by (instance) (rate(gridwatch_forward_errors_total[5m]))', unit: 'ops' },
      { title: 'Readings evicted under the disk budget', expr: 'sum by (instance) (increase(gridwatch_outbox_evicted_readings_total[1h]))' },
    ],
    [
      { title: 'Gateway behind its meters: dropout ticks deferred/s by reason', expr: 'sum by (instance, reason) (rate(gridwatch_edge_dropout_deferred_ticks_total[5m]))', unit: 'ops' },
    ],
  ]),
  'central-throughput.json': dashboard('gridwatch-central', 'gridwatch: central throughput and lag', [
    [
      { title: 'Records consumed/s by topic', expr: 'sum by (topic) (rate(gridwatch_central_records_consumed_total[1m]))', unit: 'ops' },
      { title: 'Consumer lag by topic', expr: 'sum by (topic) (gridwatch_central_consumer_lag_records)' },
    ],
    [
      { title: 'Archived records/s by topic', expr: 'sum by (topic) (rate(gridwatch_archive_records_total[1m]))', unit: 'ops' },
      { title: 'Archive flush p99', expr: 'histogram_quantile(0.99, sum by (le) (rate(gridwatch_archive_flush_seconds_bucket[5m])))', unit: 's' },
    ],
    [
      { title: 'Anomaly to grid event p99', expr: 'histogram_quantile(0.99, sum by (le) (rate(gridwatch_central_anomaly_to_event_seconds_bucket[5m])))', unit: 's' },
      { title: 'Duplicates recognised/s', expr: 'sum by (kind) (rate(gridwatch_central_duplicates_total[5m]))', unit: 'ops' },
    ],
    [
      { title: 'Edge heartbeat age', expr: 'max by (edge) (gridwatch_central_edge_heartbeat_age_seconds)', unit: 's' },
      { title: 'Process memory (RSS)', expr: 'gridwatch_process_resident_memory_bytes', unit: 'bytes' },
    ],
  ]),
  // Learned scoring (central/learn): per model version, drift against the training data (PSI,
  // the alert GridwatchModelFeatureDrift at 0.25), and the registry's switches and refusals.
  'learned-models.json': dashboard('gridwatch-learned', 'gridwatch: learned scoring and models', [
    [
      { title: 'Feature drift: PSI against the training data, by model version and feature (retrain over 0.25)', expr: 'max by (model_version, feature) (gridwatch_learned_feature_psi)', legend: '{{model_version}} {{feature}}' },
      { title: 'Models in service by role', expr: 'max by (model_version, role) (gridwatch_learned_model_role)', kind: 'stat', legend: '{{role}} {{model_version}}' },
    ],
    [
      { title: 'Windows scored/s by model version', expr: 'sum by (model_version) (rate(gridwatch_learned_windows_scored_total[5m]))', unit: 'ops' },
      { title: 'Inference p95 by model version (batch round trip)', expr: 'histogram_quantile(0.95, sum by (le, model_version) (rate(gridwatch_learned_inference_seconds_bucket[5m])))', unit: 's' },
    ],
    [
      { title: 'Score median and p99 by model version', expr: ['histogram_quantile(0.5, sum by (le, model_version) (rate(gridwatch_learned_score_bucket[15m])))', 'histogram_quantile(0.99, sum by (le, model_version) (rate(gridwatch_learned_score_bucket[15m])))'] },
      { title: 'Pattern anomalies opened/h by model version', expr: 'sum by (model_version) (increase(gridwatch_learned_anomalies_total{state="open"}[1h]))' },
    ],
    [
      { title: 'Shadow and canary against the active model (windows by verdict)', expr: 'sum by (model_version, role, verdict) (gridwatch_learned_comparison_windows)', legend: '{{role}} {{model_version}} {{verdict}}' },
      { title: 'Models refused by the registry, inference failures', expr: ['sum by (model_version, reason) (increase(gridwatch_learned_model_refusals_total[1h]))', 'sum by (model_version) (increase(gridwatch_learned_inference_failures_total[1h]))'] },
    ],
    [
      { title: 'Windows not scored, by reason', expr: 'max by (reason) (gridwatch_learned_windows_skipped)' },
      { title: 'Registry switches/h', expr: 'sum(increase(gridwatch_learned_model_switches_total[1h]))' },
    ],
  ]),
};

export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');

export function renderDashboard(d: Record<string, unknown>): string {
  return JSON.stringify(d, null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, d] of Object.entries(DASHBOARDS)) writeFileSync(join(DASHBOARD_DIR, file), renderDashboard(d));
  console.log(`wrote ${Object.keys(DASHBOARDS).length} dashboards to ${DASHBOARD_DIR}`);
}
