import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { promtoolPath } from '../../deploy/services/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

// promtool comes from Debian's prometheus package, installed by the services harness.
describe('Prometheus configuration', () => {
  it('promtool accepts the alert rules', async () => {
    const promtool = await promtoolPath();
    const out = execFileSync(promtool, ['check', 'rules', join(ROOT, 'deploy/prometheus/alerts.yml')], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('every alert fires on its series and stays quiet on others (promtool test rules)', async () => {
    const promtool = await promtoolPath();
    // promtool exits non-zero when an expectation fails (execFileSync throws with its report).
    const out = execFileSync(promtool, ['test', 'rules', join(ROOT, 'deploy/prometheus/alerts.test.yml')], { encoding: 'utf8', cwd: join(ROOT, 'deploy/prometheus') });
    expect(out).toMatch(/SUCCESS/);
  });

  it('the rule tests cover every alert, each with a firing and a quiet case', () => {
    type Rules = { groups: { rules: { alert?: string }[] }[] };
    type Tests = { rule_files: string[]; tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
    const rules = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as Rules;
    const tests = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/alerts.test.yml'), 'utf8')) as Tests;
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => a !== undefined));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert} fires somewhere`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} stays quiet somewhere`).toBe(true);
    }
  });

  it('promtool accepts the scrape configuration with its rule file', async () => {
    const promtool = await promtoolPath();
    const dir = mkdtempSync(join(tmpdir(), 'gw-prom-'));
    copyFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), join(dir, 'alerts.yml'));
    const config = readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', join(dir, 'alerts.yml'))
      .replace('/run/secrets/metrics-token', join(dir, 'metrics-token'));
    writeFileSync(join(dir, 'metrics-token'), 'scrape-token-for-the-test\n');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const out = execFileSync(promtool, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
  });
});
