import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promtoolPath } from '../../deploy/services/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

// promtool comes from Debian's prometheus package, installed by the services harness.
describe('Prometheus configuration', () => {
  it('promtool accepts the alert rules', async () => {
    const promtool = await promtoolPath();
    const out = execFileSync(promtool, ['check', 'rules', join(ROOT, 'deploy/prometheus/alerts.yml')], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool accepts the scrape configuration with its rule file', async () => {
    const promtool = await promtoolPath();
    const dir = mkdtempSync(join(tmpdir(), 'gw-prom-'));
    copyFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), join(dir, 'alerts.yml'));
    const config = readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', join(dir, 'alerts.yml'));
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const out = execFileSync(promtool, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
  });
});
