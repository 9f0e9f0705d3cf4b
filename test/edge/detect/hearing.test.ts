import { describe, expect, it } from 'vitest';
import { Hearing, LATE_TICK_MS } from '../../../edge/detect/hearing.ts';

const open = { closed: false, closings: 0, heldClients: 0 };

describe('Hearing: was the gateway behind its meters since the last tick?', () => {
  it('is not behind on time, with the gate open and nobody held', () => {
    const h = new Hearing(1000);
    expect(h.sample({ mono: 0, gate: open })).toEqual({ behind: false });
    expect(h.sample({ mono: 1000, gate: open })).toEqual({ behind: false });
    expect(h.sample({ mono: 2000 + LATE_TICK_MS, gate: open })).toEqual({ behind: false }); // exactly at the bound
    expect(h.behindTicks).toBe(0);
  });

  it('is behind when its own timer ran late past the bound (a stalled event loop)', () => {
    const h = new Hearing(1000);
    h.sample({ mono: 0 });
    expect(h.sample({ mono: 1000 + LATE_TICK_MS + 500 })).toEqual({ behind: true, reason: 'event_loop_stalled', lateMs: 1500 });
  });

  it('is behind while the in-flight gate is closed, and when it closed and opened again between two ticks', () => {
    const h = new Hearing(1000);
    h.sample({ mono: 0, gate: open });
    expect(h.sample({ mono: 1000, gate: { closed: true, closings: 1, heldClients: 10 } })).toMatchObject({ behind: true, reason: 'intake_gate_closed' });
    expect(h.sample({ mono: 2000, gate: { closed: false, closings: 2, heldClients: 0 } })).toMatchObject({ behind: true, reason: 'intake_gate_closed' });
    expect(h.sample({ mono: 3000, gate: { closed: false, closings: 2, heldClients: 0 } })).toEqual({ behind: false });
    expect(h.behindTicks).toBe(2);
  });

  it('is behind while connections are held unread', () => {
    const h = new Hearing(1000);
    h.sample({ mono: 0, gate: open });
    expect(h.sample({ mono: 1000, gate: { closed: false, closings: 0, heldClients: 3 } })).toMatchObject({ behind: true, reason: 'connections_held' });
  });
});
