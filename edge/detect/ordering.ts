import type { MeterState } from './state.ts';

/**
 * Per-meter seq bookkeeping: the highest seq seen and a 32-bit mask of the 32 seqs below it, so a
 * repeat is recognised even when readings arrive out of order (the anti-replay window of IPsec),
 * in two numbers per meter. A seq more than 32 below the highest is not known either way and is
 * judged by its ts alone.
 */
export const SEQ_WINDOW = 32;

/** Whether this seq was already seen (a repeat: duplicate_seq). */
export function seenSeq(m: MeterState, seq: number): boolean {
  const last = m.lastSeq;
  if (seq === last) return true;
  if (seq > last) return false;
  const d = last - seq;
  return d <= SEQ_WINDOW && ((m.seqMask >>> (d - 1)) & 1) === 1;
}

/** Records a seq that is not a repeat. */
export function recordSeq(m: MeterState, seq: number, ts: number): void {
  const last = m.lastSeq;
  if (seq > last) {
    const shift = seq - last;
    if (last < 0 || shift > SEQ_WINDOW) m.seqMask = 0;
    else if (shift === SEQ_WINDOW) m.seqMask = 0x80000000;
    else m.seqMask = ((m.seqMask << shift) | (1 << (shift - 1))) >>> 0;
    m.lastSeq = seq;
  } else if (last - seq <= SEQ_WINDOW) {
    m.seqMask = (m.seqMask | (1 << (last - seq - 1))) >>> 0;
  } else if (ts > m.lastTs) {
    // Far below the highest seq yet newer in event time: the meter restarted its counter.
    m.lastSeq = seq;
    m.seqMask = 0;
  }
}
