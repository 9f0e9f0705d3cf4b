// Issue 14 item 4: a zombie. Two centrals share the partitions under a flood; one is stopped
// (SIGSTOP) for longer than the session timeout, the other takes its partitions and archives them,
// then the zombie is continued (SIGCONT) with its buffers full and its flush timers overdue. The
// fence (central/archive/archiver.ts `fence`, central/consume/runner.ts `membershipLapsed`) must
// refuse every archive write of the zombie until it has rejoined, and the lapsed member revokes all
// it held. Checked: the zombie's refused writes (archive_fenced_total > 0), every reading in the
// archive exactly once, no two objects with overlapping offset ranges, no commit past the archive.
import { afterAll, describe, expect, it } from 'vitest';
import { CentralRig, exactlyOnce, groupJoins } from './central-rig.ts';
import { recordReliability } from './record.ts';

const PARTITIONS = 6;
const RATE = 2000;
/** The group's session timeout is central's default, 30 s. */
const STOP_MS = 45_000;
const log = (l: string) => console.log(`[zombie] ${l}`);
let rig: CentralRig | null = null;
afterAll(async () => rig?.stop());

describe('a zombie central (SIGSTOP past the session timeout, then SIGCONT)', () => {
  it('writes no archive object that conflicts with the new owner', async () => {
    rig = new CentralRig({ name: 'zombie', partitions: PARTITIONS, portBase: 20250, archiveMaxAgeMs: 3000, log });
    const r = rig;
    await r.start();
    r.flood(RATE);
    const a = await r.spawnCentral('a');
    await r.until('a archiving', 120_000, async () => (await r.committedTotal()) > 0, a);
    const b = await r.spawnCentral('b');
    await r.until('both members assigned', 120_000, async () => (groupJoins(a, r.group, r.topic).at(-1)?.length ?? 0) > 0 && (groupJoins(b, r.group, r.topic).at(-1)?.length ?? 0) > 0 && (groupJoins(a, r.group, r.topic).at(-1)?.length ?? 0) < PARTITIONS, b);
    const aPartitions = groupJoins(a, r.group, r.topic).at(-1) ?? [];
    // Let a buffer records of its partitions (flushes every 3 s), then freeze it.
    await new Promise((res) => setTimeout(res, 2000));
    const fencedBefore = await a.metric('gridwatch_archive_fenced_total');
    a.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    log(`a (partitions ${aPartitions.join(',')}) stopped`);
    await r.until('b owns every partition', STOP_MS + 60_000, async () => groupJoins(b, r.group, r.topic).at(-1)?.length === PARTITIONS, b);
    const takeover = (Date.now() - stoppedAt) / 1000;
    while (Date.now() - stoppedAt < STOP_MS) await new Promise((res) => setTimeout(res, 250));
    a.child.kill('SIGCONT');
    log(`a continued after ${Math.round((Date.now() - stoppedAt) / 1000)} s (b took over after ${takeover.toFixed(1)} s)`);
    // The zombie's overdue timers fire now; then it rejoins and the group shares the partitions again.
    await r.until('a rejoined', 120_000, async () => a.log().includes('group membership had lapsed'), a);
    await new Promise((res) => setTimeout(res, 10_000));
    await r.stopFlood();
    const doneFrom = Date.now();
    await r.until('every reading archived and committed', 240_000, async () => (await r.committedTotal()) >= r.produced, b);
    const recoverySeconds = Math.round((Date.now() - doneFrom) / 100) / 10;
    const fenced = (await a.metric('gridwatch_archive_fenced_total')) - fencedBefore;
    const past = await r.committedPastArchive();
    const archive = await r.readArchive();
    const once = exactlyOnce(archive, await r.ends());
    log(JSON.stringify({ produced: r.produced, lines: archive.lines, objects: archive.objects, ...once, overlapping: archive.overlapping.slice(0, 5), fenced, past, takeover }));

    recordReliability({
      id: 'central-zombie',
      test: 'Central faults: zombie instance (SIGSTOP past the session timeout)',
      fault: `one of two centrals SIGSTOPped ${STOP_MS / 1000} s (session timeout 30 s), then SIGCONT with its buffers and timers due`,
      load: `${r.produced} readings at ~${RATE}/s, ${PARTITIONS} partitions, flush every 3 s`,
      lost: once.missing,
      duplicates: once.duplicated,
      recoverySeconds,
      note: `the other took all partitions after ${takeover.toFixed(0)} s; the zombie's archive writes refused ${fenced} times by the fence; no overlapping object ranges`,
      suite: 'long',
    });
    expect(fenced).toBeGreaterThan(0);
    expect(archive.overlapping).toEqual([]);
    expect(once).toEqual({ missing: 0, duplicated: 0 });
    expect(archive.lines).toBe(r.produced);
    expect(past).toEqual([]);
  }, 1_200_000);
});
