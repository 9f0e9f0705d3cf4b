import { describe, expect, it } from 'vitest';
import { intervalPart, part, startParts, stopParts } from '../../shared/lifecycle.ts';

const quiet = { info: () => undefined, error: () => undefined };

describe('parts with a lifecycle', () => {
  it('start in order and stop in reverse', async () => {
    const log: string[] = [];
    const parts = ['store', 'forwarder', 'intake'].map((n) => part(n, () => void log.push(`start ${n}`), () => void log.push(`stop ${n}`)));
    await startParts(parts, quiet);
    await stopParts(parts, Date.now() + 1000, quiet);
    expect(log).toEqual(['start store', 'start forwarder', 'start intake', 'stop intake', 'stop forwarder', 'stop store']);
  });

  it('after a failed start, stop what had started (in reverse) and throw the start error', async () => {
    const log: string[] = [];
    const parts = [
      part('a', () => void log.push('start a'), () => void log.push('stop a')),
      part('b', () => void log.push('start b'), () => void log.push('stop b')),
      part('c', () => {
        throw new Error('port in use');
      }, () => void log.push('stop c')),
      part('d', () => void log.push('start d'), () => void log.push('stop d')),
    ];
    const errors: string[] = [];
    await expect(startParts(parts, { info: () => undefined, error: (f) => void errors.push((f as { part: string }).part) })).rejects.toThrow('port in use');
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(errors).toEqual(['c']);
  });

  it('a failing stop is logged and the others still stop; the deadline reaches every part', async () => {
    const deadlines: number[] = [];
    const failed: string[] = [];
    const parts = [
      part('a', () => undefined, (d) => void deadlines.push(d)),
      part('b', () => undefined, () => {
        throw new Error('disk gone');
      }),
      part('c', () => undefined, (d) => void deadlines.push(d)),
    ];
    await stopParts(parts, 12345, { info: () => undefined, error: (f) => void failed.push((f as { part: string }).part) });
    expect(failed).toEqual(['b']);
    expect(deadlines).toEqual([12345, 12345]);
  });

  it('an interval part ticks between start and stop only', async () => {
    let n = 0;
    const p = intervalPart('tick', 5, () => n++);
    await new Promise((r) => setTimeout(r, 20));
    expect(n).toBe(0);
    await p.start();
    await new Promise((r) => setTimeout(r, 40));
    await p.stop(Date.now());
    const seen = n;
    expect(seen).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(n).toBe(seen);
  });
});
