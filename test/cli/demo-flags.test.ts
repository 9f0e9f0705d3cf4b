import { describe, expect, it } from 'vitest';
import { run } from '../../cli/demo.ts';

describe('gridwatch demo flags', () => {
  it('refuses a duration without a unit before provisioning anything', async () => {
    // `npm run demo -- --duration 120` used to run a 120 ms simulation.
    await expect(run(['--duration', '120'])).rejects.toThrow(/--duration: a duration needs a unit, like 120s, 2m/);
    await expect(run(['--interval', '1000'])).rejects.toThrow(/--interval: a duration needs a unit/);
  });
});
