import { describe, expect, it } from 'vitest';
import { FD_RESERVE, connectionsWithinFdLimit, openFilesLimit } from '../../../edge/ingest/fd-limit.ts';

const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            ${soft}                20000                files     \n`;

describe('MQTT connections against the open-files limit', () => {
  it('reads the soft limit of /proc/self/limits, and nothing where there is none or it is unlimited', () => {
    expect(openFilesLimit(() => limits('20000'))).toBe(20_000);
    expect(openFilesLimit(() => limits('unlimited'))).toBeUndefined();
    expect(openFilesLimit(() => { throw new Error('ENOENT'); })).toBeUndefined();
    expect(openFilesLimit(() => 'garbage')).toBeUndefined();
    // this process, on Linux, has one
    expect(openFilesLimit()).toBeGreaterThan(0);
  });

  it('holds the broker to the limit less the reserve, and only when asked for more', () => {
    expect(connectionsWithinFdLimit(20_000, 20_000)).toEqual({ maxConnections: 20_000 - FD_RESERVE, clamped: true });
    expect(connectionsWithinFdLimit(20_000, 65_536)).toEqual({ maxConnections: 20_000, clamped: false });
    expect(connectionsWithinFdLimit(19_744, 20_000)).toEqual({ maxConnections: 19_744, clamped: false });
    expect(connectionsWithinFdLimit(5_000, undefined)).toEqual({ maxConnections: 5_000, clamped: false });
    expect(connectionsWithinFdLimit(100, 64)).toEqual({ maxConnections: 1, clamped: true });
  });
});
