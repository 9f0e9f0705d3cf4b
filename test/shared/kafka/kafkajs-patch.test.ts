// The postinstall patch of kafkajs (scripts/patch-kafkajs.mjs): the installed file is the linear
// one (npm ci ran the script), it groups as the released one did (same partitions, same order in
// each), and the script leaves a file it does not know alone.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { MARK, PATCHED, RELEASED, target } from '../../../scripts/patch-kafkajs.mjs';

type Group = (a: { topic: string; partitionMetadata: unknown[]; messages: { key: string }[]; partitioner: (a: { message: { key: string } }) => number }) => Record<number, { key: string }[]>;

const load = (text: string): Group => {
  const m = { exports: {} as unknown };
  new Function('module', text)(m);
  return m.exports as Group;
};

describe('kafkajs patch', () => {
  it('is installed: the file kafkajs loads is the linear one', () => {
    const t = target() as { file: string; version: string };
    expect(t.version).toBe('2.2.4');
    const installed = readFileSync(t.file, 'utf8');
    expect(installed.startsWith(MARK)).toBe(true);
    expect(installed).toBe(PATCHED);
    const require = createRequire(import.meta.url);
    const group = require(t.file) as Group;
    expect(group({ topic: 't', partitionMetadata: [{}], messages: [{ key: 'a' }], partitioner: () => 0 })).toEqual({ 0: [{ key: 'a' }] });
  });

  it('groups exactly as the released code: every message once, in order within its partition', () => {
    const messages = Array.from({ length: 2000 }, (_, i) => ({ key: `m${(i * 7919) % 613}` }));
    const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % 6;
    const args = { topic: 't', partitionMetadata: Array.from({ length: 6 }, () => ({})), messages, partitioner };
    const released = load(RELEASED)(args);
    const patched = load(PATCHED)(args);
    expect(Object.keys(patched).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(patched).toEqual(released);
    expect(load(PATCHED)({ ...args, partitionMetadata: [] })).toEqual({});
  });

  it('changes the released text, and leaves a file it does not know as it is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-kpatch-'));
    const file = join(dir, 'node_modules/kafkajs/src/producer/groupMessagesPerPartition.js');
    mkdirSync(join(dir, 'node_modules/kafkajs/src/producer'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{}');
    writeFileSync(join(dir, 'node_modules/kafkajs/package.json'), JSON.stringify({ name: 'kafkajs', version: '2.2.4', main: 'index.js' }));
    const script = join(process.cwd(), 'scripts/patch-kafkajs.mjs');
    writeFileSync(file, RELEASED);
    const first = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
    expect(first.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(PATCHED);
    const other = "module.exports = () => ({}) // someone else's\n";
    writeFileSync(file, other);
    const second = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stderr).toContain('left as it is');
    expect(readFileSync(file, 'utf8')).toBe(other);
  });
});
