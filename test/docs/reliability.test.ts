import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RELIABILITY_DOC, readReliabilityRows, renderReliability } from '../../docs/reliability.ts';

describe('reliability figures', () => {
  it('docs/reliability.md matches docs/reliability/*.json (node --import tsx docs/reliability.ts)', () => {
    expect(readFileSync(RELIABILITY_DOC, 'utf8')).toBe(renderReliability());
  });

  it('puts each row under its suite, with every column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridwatch-reliability-doc-'));
    const row = { id: 'x-cut', test: 'Link cut', fault: 'reset 30 s', load: '100 readings/s', lost: 0, duplicates: 0, recoverySeconds: 4.25, note: 'a | b', suite: 'long', measuredAt: '2026-12-01T13:00:00.000Z' };
    writeFileSync(join(dir, 'x-cut.json'), JSON.stringify(row));
    const doc = renderReliability(readReliabilityRows(dir), ['x-cut', 'y-storm']);
    const [short, long] = doc.split('## Long suite');
    expect(short).toContain('(none recorded yet)');
    expect(long).toContain('| Link cut | reset 30 s | 100 readings/s | 0 | 0 | 4.3 s | a \\| b | 2026-12-01 |');
    // A test that declares a row nobody recorded yet is named, not left out.
    expect(long).toContain('Declared by a test, no row recorded yet: `y-storm`.');
  });

  it('refuses a row file that lacks a field or whose id is not its name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridwatch-reliability-doc-'));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ id: 'b', test: 't', fault: 'f', load: 'l', lost: 0, duplicates: null, recoverySeconds: null, note: '', suite: 'short' }));
    expect(() => readReliabilityRows(dir)).toThrow(/does not match/);
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ id: 'a', test: 't' }));
    expect(() => readReliabilityRows(dir)).toThrow(/field fault missing/);
  });
});
