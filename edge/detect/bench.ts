/**
 * Micro-benchmark of the detector's hot path: onReading over many meters with realistic noise
 * (voltage, current, power, frequency), a few injected sags and spikes. One reading object is
 * reused, as the ingest path may do; the detector keeps no reference to it.
 *
 *   node --import tsx edge/detect/bench.ts [readings]
 */
import { ManualClock } from '../../shared/clock.ts';
import { Detector } from './detector.ts';
import type { MeterContext, ReadingIn } from './types.ts';

export function benchDetector(n: number, meters = 10_000): { readingsPerSec: number; anomalies: number; meters: number; n: number } {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ctx: MeterContext = { edgeId: 'bench', substationId: 's1', feederId: 'f1', transformerId: 't1', nominalVoltage: 230, nominalFrequency: 50, expectedIntervalMs: 5_000, ratedCurrentA: 60 };
  const d = new Detector({ edgeId: 'bench', context: () => ctx, clock });
  const ids = Array.from({ length: meters }, (_, i) => `m${i}`);
  // Pre-computed noise so the loop measures the detector, not Math.random.
  const noise = new Float64Array(65_536);
  let seed = 12345;
  for (let i = 0; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const u1 = (seed + 1) / 0x80000000;
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const u2 = seed / 0x80000000;
    noise[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  const r: ReadingIn = { meterId: '', ts: 0, seq: 0, voltage: 230, current: 10, power: 2.3, frequency: 50 };
  const t0 = Date.UTC(2026, 0, 1);
  let anomalies = 0;
  let k = 0;
  let i = 0;
  const run = (count: number): void => {
    for (const end = i + count; i < end; i++) {
      const mi = i % meters;
      const step = Math.floor(i / meters);
      r.meterId = ids[mi] as string;
      r.ts = t0 + step * 5_000 + mi;
      r.seq = step;
      const z = noise[k++ & 0xffff] as number;
      // Every 97th step a sag on every 50th meter: exercises the open/close paths.
      r.voltage = step % 97 === 50 && mi % 50 === 0 ? 190 : 230 + z;
      r.current = 10 + z * 0.5;
      r.power = 2.3 + z * 0.1;
      r.frequency = 50 + z * 0.01;
      anomalies += d.onReading(r).anomalies.length;
    }
  };
  run(meters * 80); // warm up windows and the JIT
  clock.advance(1);
  anomalies = 0;
  const start = performance.now();
  run(n);
  const secs = (performance.now() - start) / 1000;
  return { readingsPerSec: Math.round(n / secs), anomalies, meters, n };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 2_000_000);
  console.log(JSON.stringify(benchDetector(n)));
}
