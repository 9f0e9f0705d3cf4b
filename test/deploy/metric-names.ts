import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { METRIC_PREFIX } from '../../shared/metrics.ts';

/**
 * The metric names the code really exports: every name registered through shared Metrics
 * (`m.counter('name', ...)` and friends, found in the sources) plus prom-client's default
 * metrics under our prefix. Used to check dashboards and alert rules against the code.
 */
export function exportedMetricNames(root: string): Set<string> {
  const names = new Set<string>();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const m of registry.getMetricsAsArray()) names.add(m.name);
  const pattern = /\.(?:counter|gauge|histogram)(?:<[^>]*>)?\(\s*['"]([a-z0-9_]+)['"]/g;
  for (const dir of ['edge', 'central', 'shared', 'simulator']) {
    for (const file of walk(join(root, dir))) {
      for (const match of readFileSync(file, 'utf8').matchAll(pattern)) names.add(METRIC_PREFIX + match[1]);
    }
  }
  return names;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

/** Metric names a PromQL expression uses, with histogram suffixes folded onto the base name. */
export function metricsInExpr(expr: string): string[] {
  return [...expr.matchAll(/\bgridwatch_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}
