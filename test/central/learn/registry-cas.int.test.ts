// The grid.models record's compare-and-set against the real Kafka (SASL_SSL as the harness gives):
// every change is revision + 1; a writer that another one overtook between its read and its
// commit writes nothing and is told so (no lost update); `--revision N` refuses a record that has
// moved on. Driven through cli/models.ts's changeRecord and `gridwatch models` itself.
import { afterAll, describe, expect, it } from 'vitest';
import { changeRecord, readRecord, run as models } from '../../../cli/models.ts';
import { parseRecord, promote, RECORD_KEY, shadow } from '../../../central/learn/registry-record.ts';
import { GridwatchError } from '../../../shared/index.ts';
import { compareAndSetRecord, ensureTopicsOn, modelsTopic, modelsTopicSpec, RecordConflictError } from '../../../shared/kafka/index.ts';
import { kafka, testConfig } from '../consume/helpers.ts';

const v = (c: string) => c.repeat(64);

describe('grid.models compare-and-set (real Kafka)', () => {
  const k = kafka();
  const c = testConfig('models-cas');
  const topic = modelsTopic(c);
  afterAll(async () => {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('counts revisions, refuses a stale --revision, and the overtaken writer of two at once writes nothing', async () => {
    await ensureTopicsOn(k, [modelsTopicSpec(topic)], { partitions: 1 });
    expect((await readRecord(k, topic)).revision).toBe(0);
    const r1 = await changeRecord(k, topic, (r, now) => promote(r, v('a'), now), { by: 'alice' });
    expect(r1).toMatchObject({ active: v('a'), revision: 1, by: 'alice' });
    const r2 = await changeRecord(k, topic, (r, now) => shadow(r, v('b'), now), { by: 'bob' });
    expect(r2).toMatchObject({ active: v('a'), shadow: v('b'), revision: 2 });
    expect(await readRecord(k, topic)).toEqual(r2);

    // An operator who looked at revision 1 is refused now that it is 2; nothing is written.
    const stale = await changeRecord(k, topic, (r, now) => promote(r, v('c'), now), { expectRevision: 1 }).then(() => null, (e: unknown) => e);
    expect(stale).toBeInstanceOf(GridwatchError);
    expect((stale as GridwatchError).details).toMatchObject({ reason: 'revision' });
    expect(await readRecord(k, topic)).toEqual(r2);

    // Two at once: A has read revision 2 and is about to write when B begins, reads, writes and
    // commits. A's commit must fail (B's transaction fenced it) and the record must be B's: without
    // the compare-and-set A would overwrite B's promotion with one built on the record before it.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let readByA: number | null = null;
    const a = compareAndSetRecord(k, { topic, key: RECORD_KEY, transactionalId: `${topic}.writer` }, async (latest) => {
      const r = parseRecord(latest.value!.toString('utf8'));
      readByA = r.revision;
      await gate; // A has read; it writes only once B has committed
      return { value: JSON.stringify({ ...promote(r, v('d'), Date.now()), revision: r.revision + 1, by: 'A' }), result: r };
    });
    const started = Date.now();
    while (readByA === null && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 20));
    expect(readByA).toBe(2);
    const b = await changeRecord(k, topic, (r, now) => promote(r, v('e'), now), { by: 'B' });
    release();
    const lost = await a.then(() => null, (e: unknown) => e);
    expect(b).toMatchObject({ active: v('e'), revision: 3, by: 'B' });
    const after = await readRecord(k, topic);
    expect(after).toEqual(b);
    expect(lost).toBeInstanceOf(RecordConflictError);
    expect(after.history).toEqual(['default', v('a')]);

    // Through the CLI: --revision 2 is refused (the record is at 3); --revision 3 goes through.
    const env = { ...process.env, GRIDWATCH_KAFKA_TOPIC_PREFIX: c.kafkaTopicPrefix, GRIDWATCH_CENTRAL_GROUP: c.centralGroup };
    await expect(models(['shadow', '--off', '--revision', '2'], env)).rejects.toThrow(/revision 3 .*not 2/);
    const log = console.log;
    console.log = () => undefined;
    try {
      expect(await models(['shadow', '--off', '--revision', '3'], env)).toBe(0);
    } finally {
      console.log = log;
    }
    expect(await readRecord(k, topic)).toMatchObject({ shadow: null, revision: 4, active: v('e') });
  }, 90_000);
});
