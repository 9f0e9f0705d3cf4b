import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, DASHBOARD_DIR, renderDashboard } from '../../deploy/grafana/dashboards.ts';
import { parseTopology } from '../../shared/topology/index.ts';
import { exportedMetricNames, metricsInExpr } from './metric-names.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const exported = exportedMetricNames(ROOT);

interface ComposeService { image?: string; build?: unknown; volumes?: (string | { source: string })[]; command?: string[] }

describe('docker-compose.yml', () => {
  const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

  it('parses and has the production shape', () => {
    const names = Object.keys(compose.services);
    for (const s of ['kafka-1', 'kafka-2', 'kafka-3', 'minio', 'influxdb', 'prometheus', 'grafana', 'central-1', 'central-2', 'edge-s01', 'edge-s02', 'edge-s03', 'simulator']) {
      expect(names).toContain(s);
    }
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image ?? s.build, `${name} has an image or a build`).toBeTruthy();
      // Third-party images are pinned to a version; only our own locally built image is :latest.
      if (s.image && !s.image.startsWith('gridwatch:')) {
        expect(s.image, `${name} pins its image`).toMatch(/:[^:]+$/);
        expect(s.image, `${name} pins its image`).not.toMatch(/:latest$/);
      }
    }
  });

  it('references only files that exist', () => {
    const referenced = new Set<string>();
    for (const s of Object.values(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : v.source;
        if (source.startsWith('./')) referenced.add(source);
      }
      if (s.build) referenced.add('./Dockerfile');
    }
    expect(referenced.size).toBeGreaterThan(3);
    for (const path of referenced) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });

  it('ships a valid topology for the compose edges, covering each edge substation', () => {
    const entries = parseTopology(readFileSync(join(ROOT, 'deploy/compose/topology.csv'), 'utf8'), 'csv');
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const substations = [...text.matchAll(/GRIDWATCH_SUBSTATION_ID: (\S+)/g)].map((m) => m[1]);
    expect(substations).toHaveLength(3);
    for (const s of substations) expect(entries.some((e) => e.substationId === s), s).toBe(true);
  });

  it('copies into the image every folder the CLI loads', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    for (const dir of ['bin', 'cli', 'shared', 'edge', 'central', 'simulator']) expect(dockerfile).toContain(`COPY ${dir} ./${dir}`);
  });
});

describe('Grafana dashboards', () => {
  it.each(Object.keys(DASHBOARDS))('%s is valid JSON, generated from deploy/grafana/dashboards.ts', (file) => {
    const text = readFileSync(join(DASHBOARD_DIR, file), 'utf8');
    expect(() => JSON.parse(text)).not.toThrow();
    expect(text).toBe(renderDashboard(DASHBOARDS[file]!));
  });

  it('query only metrics that the code exports', () => {
    const used = new Set<string>();
    for (const d of Object.values(DASHBOARDS)) {
      for (const p of d.panels as { targets: { expr?: string }[] }[]) for (const t of p.targets) if (t.expr) metricsInExpr(t.expr).forEach((m) => used.add(m));
    }
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((m) => !exported.has(m))).toEqual([]);
  });

  it('provision both data sources the panels use', () => {
    const ds = parseYaml(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/datasources.yml'), 'utf8')) as { datasources: { uid: string }[] };
    expect(ds.datasources.map((d) => d.uid).sort()).toEqual(['influxdb', 'prometheus']);
  });
});

describe('Prometheus alert rules', () => {
  it('use only metrics that the code exports', () => {
    const rules = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining(['GridwatchOutboxGrowing', 'GridwatchEdgeHeartbeatLost', 'GridwatchConsumerLag', 'GridwatchCriticalEventOpen']));
    const missing = alerts.flatMap((a) => metricsInExpr(a.expr)).filter((m) => !exported.has(m));
    expect(missing).toEqual([]);
  });
});
