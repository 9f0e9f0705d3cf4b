// Issue 14 item 4: central killed (SIGKILL) in the middle of an archive flush, under a flood. The
// test watches partition 0's progress marker; when a new flush's intent appears it freezes the
// process (SIGSTOP), and if some of that flush's objects are still missing it kills it there (so
// every kill lands mid-flush), then checks that no committed offset is past what the archive holds. Then a new central of the same group finishes: every reading in Kafka is in the
// archive exactly once (no offset in two objects, no two flushes' ranges overlapping).
import { afterAll, describe, expect, it } from 'vitest';
import { readProgress } from '../../central/archive/progress.ts';
import { CentralRig, exactlyOnce, type Central } from './central-rig.ts';
import { recordReliability } from './record.ts';

const PARTITIONS = 3;
const KILLS = 3;
const RATE = 3000;
const log = (l: string) => console.log(`[kill-flush] ${l}`);
let rig: CentralRig | null = null;
afterAll(async () => rig?.stop());

describe('central killed in the middle of an archive flush', () => {
  it('archives every reading exactly once after the restart and never commits past the archive', async () => {
    rig = new CentralRig({ name: 'killflush', partitions: PARTITIONS, portBase: 20230, archiveMaxAgeMs: 2000, log });
    const r = rig;
    await r.start();
    r.flood(RATE);
    let c: Central = await r.spawnCentral('c1');
    let midFlush = 0;
    const past: string[] = [];
    const restarts: number[] = [];
    for (let k = 1; k <= KILLS; k++) {
      // Wait for a new flush of partition 0 (its marker names a new pending range), freeze the
      // process at once (SIGSTOP) and look: if some of the flush's objects are still missing, the
      // kill lands in the middle of it; if the flush was already complete, continue and try again.
      let m = await readProgress(r.sink, r.topic, 0).catch(() => null);
      let missing: number;
      const end = Date.now() + 300_000;
      for (;;) {
        if (Date.now() > end) throw new Error(`no flush caught in progress in 300 s; ${c.log().slice(-2000)}`);
        if (c.child.exitCode !== null) throw new Error(`${c.name} exited: ${c.log().slice(-2000)}`);
        const seen = m?.pending?.first ?? null;
        const now = await readProgress(r.sink, r.topic, 0).catch(() => null);
        if (now?.pending && now.pending.first !== seen) {
          c.child.kill('SIGSTOP');
          m = await readProgress(r.sink, r.topic, 0);
          missing = (await Promise.all((m.pending?.keys ?? []).map(async (key) => (await r.sink.list(key)).includes(key)))).filter((x) => !x).length;
          if (missing > 0) break;
          c.child.kill('SIGCONT');
          continue;
        }
        m = now ?? m;
        await new Promise((res) => setTimeout(res, 10));
      }
      await r.kill(c);
      const killedAt = Date.now();
      midFlush++;
      past.push(...(await r.committedPastArchive()));
      log(`kill ${k}: flush ${String(m?.pending?.first)}-${String(m?.pending?.last)} of partition 0 had ${missing}/${m?.pending?.keys.length ?? 0} objects missing`);
      c = await r.spawnCentral(`c${k + 1}`);
      restarts.push((Date.now() - killedAt) / 1000);
    }
    await r.stopFlood();
    const doneFrom = Date.now();
    await r.until('every reading archived and committed', 240_000, async () => (await r.committedTotal()) >= r.produced, c);
    const recoverySeconds = Math.round((Date.now() - doneFrom) / 100) / 10;
    const archive = await r.readArchive();
    const once = exactlyOnce(archive, await r.ends());
    const replayed = await c.metric('gridwatch_archive_redelivered_total');
    log(JSON.stringify({ produced: r.produced, lines: archive.lines, objects: archive.objects, ...once, midFlush, past, replayed, restarts }));

    recordReliability({
      id: 'central-kill-mid-flush',
      test: 'Central faults: kill -9 in the middle of an archive flush',
      fault: `SIGKILL of central ${KILLS} times, each while a flush's objects were being written (frozen, checked, killed); restarted each time`,
      load: `${r.produced} readings at ~${RATE}/s, ${PARTITIONS} partitions, flush every 2 s`,
      lost: once.missing,
      duplicates: once.duplicated,
      recoverySeconds,
      note: `${midFlush}/${KILLS} kills mid-flush (objects missing at the kill) (replayed with the same keys); ${archive.objects} objects, no overlapping ranges; restart to running ${Math.max(...restarts).toFixed(0)} s at most; commits never past the archive`,
      suite: 'long',
    });
    expect(past).toEqual([]);
    expect(once).toEqual({ missing: 0, duplicated: 0 });
    expect(archive.lines).toBe(r.produced);
    expect(archive.readingIds.size).toBe(r.produced);
    expect(archive.overlapping).toEqual([]);
  }, 1_200_000);
});
