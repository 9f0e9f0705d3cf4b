// Issue 14 item 4: central killed (SIGKILL) during a rebalance. One central archives a flood; a
// second joins the group, and the first is killed the moment it sees the rebalance begin. The
// second must end up with every partition (after the session timeout) and the archive must hold
// every reading exactly once, with no commit past what was archived.
import { afterAll, describe, expect, it } from 'vitest';
import { CentralRig, exactlyOnce, groupJoins } from './central-rig.ts';
import { recordReliability } from './record.ts';

const PARTITIONS = 6;
const RATE = 2000;
const log = (l: string) => console.log(`[kill-rebalance] ${l}`);
let rig: CentralRig | null = null;
afterAll(async () => rig?.stop());

describe('central killed during a rebalance of two instances', () => {
  it('leaves the other with every partition and the archive exactly once', async () => {
    rig = new CentralRig({ name: 'killrebal', partitions: PARTITIONS, portBase: 20240, log });
    const r = rig;
    await r.start();
    r.flood(RATE);
    const a = await r.spawnCentral('a');
    await r.until('a archiving', 120_000, async () => (await r.committedTotal()) > 0, a);
    const rebalancesBefore = a.log().split('"consumer group rebalancing"').length;
    const b = await r.spawnCentral('b');
    // b's join makes the coordinator rebalance: a learns it from its next heartbeat.
    await r.until('a in a rebalance', 120_000, async () => a.log().split('"consumer group rebalancing"').length > rebalancesBefore, a);
    await r.kill(a);
    const killedAt = Date.now();
    const pastAtKill = await r.committedPastArchive();
    log('a killed during the rebalance');
    await r.until('b owns every partition', 180_000, async () => groupJoins(b, r.group, r.topic).at(-1)?.length === PARTITIONS, b);
    const takeover = (Date.now() - killedAt) / 1000;
    await new Promise((res) => setTimeout(res, 5000));
    await r.stopFlood();
    await r.until('every reading archived and committed', 240_000, async () => (await r.committedTotal()) >= r.produced, b);
    const recoverySeconds = Math.round((Date.now() - killedAt) / 100) / 10;
    const past = [...pastAtKill, ...(await r.committedPastArchive())];
    const archive = await r.readArchive();
    const once = exactlyOnce(archive, await r.ends());
    log(JSON.stringify({ produced: r.produced, lines: archive.lines, objects: archive.objects, ...once, past, takeover, recoverySeconds }));

    recordReliability({
      id: 'central-kill-rebalance',
      test: 'Central faults: kill -9 during a rebalance of two instances',
      fault: 'SIGKILL of the first central as a second one joins the group (during the rebalance)',
      load: `${r.produced} readings at ~${RATE}/s, ${PARTITIONS} partitions`,
      lost: once.missing,
      duplicates: once.duplicated,
      recoverySeconds,
      note: `the survivor owned all ${PARTITIONS} partitions ${takeover.toFixed(0)} s after the kill (session timeout 30 s); no overlapping object ranges; commits never past the archive`,
      suite: 'long',
    });
    expect(past).toEqual([]);
    expect(once).toEqual({ missing: 0, duplicated: 0 });
    expect(archive.lines).toBe(r.produced);
    expect(archive.overlapping).toEqual([]);
  }, 1_200_000);
});
