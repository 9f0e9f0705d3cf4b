import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

/**
 * The prebuilt gateway (scripts/build-edge.mjs -> dist/edge.mjs, edge/entry.ts), which the shipped
 * systemd unit runs, is the same command as `gridwatch edge` from source:
 * same settings, same output, same exit codes.
 */
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
// Under the repository: the bundle leaves packages outside, resolved from its folder up to node_modules.
mkdirSync(join(ROOT, 'dist'), { recursive: true });
const dir = mkdtempSync(join(ROOT, 'dist', 'test-entry-'));
const bundle = join(dir, 'edge.mjs');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function exit(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return run(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );
}

describe('the prebuilt edge gateway', () => {
  it('builds, and prints the same settings as `gridwatch edge` from source', async () => {
    const built = await exit(['scripts/build-edge.mjs', relative(ROOT, bundle)]);
    expect(built.code, built.err).toBe(0);
    const fromBundle = await exit([bundle, '--print-config']);
    const fromSource = await exit(['bin/gridwatch.js', 'edge', '--print-config']);
    expect(fromBundle.code).toBe(0);
    expect(fromBundle.out).toContain('GRIDWATCH_MQTT_MAX_INFLIGHT');
    expect(fromBundle.out).toBe(fromSource.out);
  }, 60_000);

  it('bundles the producer thread beside the gateway, and it starts there as plain node runs it (GRIDWATCH_FORWARD_CLIENT=platformatic-thread)', async () => {
    // The thread the bundle starts: new URL('./producer-worker.mjs', <the bundle>), asked to load its library.
    const script = `
      import { Worker } from 'node:worker_threads';
      const w = new Worker(new URL('./producer-worker.mjs', ${JSON.stringify(`file://${bundle}`)}), { execArgv: [] });
      w.on('error', (e) => { console.error('worker error', e.message); process.exit(2); });
      w.on('message', (m) => { console.log(JSON.stringify(m)); w.terminate(); });
      w.postMessage({ op: 'load', seq: 7, id: 0 });`;
    const r = await exit(['--input-type=module', '-e', script]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out.trim())).toEqual({ seq: 7, ok: true });
  }, 60_000);

  it('refuses a bad setting with exit 78 and the variable named, like the CLI', async () => {
    const bad = { GRIDWATCH_MQTT_PORT: 'abc' };
    const fromBundle = await exit([bundle], bad);
    const fromSource = await exit(['bin/gridwatch.js', 'edge'], bad);
    expect(fromBundle.code).toBe(78);
    expect(fromSource.code).toBe(78);
    expect(fromBundle.err).toContain('GRIDWATCH_MQTT_PORT="abc"');
    expect(fromBundle.err).toBe(fromSource.err);
  }, 60_000);
});
