import { describe, expect, it } from 'vitest';
import type { Message, Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { partitionOf, PartitionTracker, sendBatchAcknowledged, unacknowledged, UnsentPartitionsError } from '../../../shared/kafka/index.ts';

const meta = (n: number) => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: i, replicas: [i], isr: [i], partitionErrorCode: 0 }));
const ack = (topicName: string, partition: number, errorCode = 0): RecordMetadata => ({ topicName, partition, errorCode });

/** A producer with kafkajs 2.2.4's defect: its first sendBatch resolves without partitions `skip`. */
function producerSkipping(tracker: PartitionTracker, skip: number[], times = 1): { producer: Producer; sent: string[][] } {
  const partition = tracker.createPartitioner();
  const sent: string[][] = [];
  let calls = 0;
  const producer = {
    sendBatch: async (b: ProducerBatch): Promise<RecordMetadata[]> => {
      const out = new Map<string, RecordMetadata>();
      const keys: string[] = [];
      for (const { topic, messages } of b.topicMessages ?? []) {
        for (const message of messages) {
          const p = partition({ topic, partitionMetadata: meta(3), message });
          if (calls < times && skip.includes(p)) continue;
          keys.push(String(message.key));
          out.set(`${topic}/${p}`, ack(topic, p));
        }
      }
      calls++;
      sent.push(keys);
      return [...out.values()];
    },
  } as unknown as Producer;
  return { producer, sent };
}

const messages = (n: number): Message[] => Array.from({ length: n }, (_, i) => ({ key: `meter-${i}`, value: 'x' }));

describe('PartitionTracker', () => {
  it("chooses what kafkajs' default partitioner chooses and remembers it per message", () => {
    const t = new PartitionTracker();
    const choose = t.createPartitioner();
    for (const m of messages(50)) {
      expect(choose({ topic: 't', partitionMetadata: meta(3), message: m })).toBe(partitionOf(String(m.key), 3));
      expect(t.partitionOf(m)).toBe(partitionOf(String(m.key), 3));
    }
    expect(t.partitionOf({ key: 'never-partitioned', value: 'x' })).toBeUndefined();
  });
});

describe('unacknowledged', () => {
  it('keeps the messages of partitions missing from the acknowledgements, or acknowledged with an error', () => {
    const ms = messages(30);
    const p = (m: Message) => partitionOf(String(m.key), 3);
    const all = [{ topic: 'a', messages: ms }, { topic: 'b', messages: ms }];
    expect(unacknowledged(all, [0, 1, 2].flatMap((i) => [ack('a', i), ack('b', i)]), p)).toEqual([]);
    const left = unacknowledged(all, [ack('a', 0), ack('a', 1), ack('a', 2, 6), ack('b', 0), ack('b', 2)], p);
    expect(left).toEqual([
      { topic: 'a', messages: ms.filter((m) => p(m) === 2) },
      { topic: 'b', messages: ms.filter((m) => p(m) === 1) },
    ]);
    expect(unacknowledged(all, [], () => undefined)).toEqual(all);
  });
});

describe('sendBatchAcknowledged', () => {
  it('sends again exactly the messages of a partition the resolve left out, once each', async () => {
    const t = new PartitionTracker();
    const { producer, sent } = producerSkipping(t, [1]);
    const ms = messages(40);
    const heard: { messages: number; partitions: string[] }[] = [];
    const acks = await sendBatchAcknowledged(producer, t, { topicMessages: [{ topic: 'r', messages: ms }], acks: -1 }, { onUnsent: (u) => heard.push(u) });
    const onOne = ms.filter((m) => partitionOf(String(m.key), 3) === 1).map((m) => String(m.key));
    expect(onOne.length).toBeGreaterThan(0);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(onOne);
    expect(new Set([...sent[0]!, ...sent[1]!]).size).toBe(40);
    expect(sent[0]!.length + sent[1]!.length).toBe(40);
    expect(heard).toEqual([{ messages: onOne.length, partitions: ['r/1'], resend: 1 }]);
    expect(acks.map((a) => a.partition).sort()).toEqual([0, 1, 2]);
  });

  it('gives up with a retryable error when partitions stay unacknowledged', async () => {
    const t = new PartitionTracker();
    const { producer, sent } = producerSkipping(t, [0], 99);
    const err = await sendBatchAcknowledged(producer, t, { topicMessages: [{ topic: 'r', messages: messages(20) }] }, { resends: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsentPartitionsError);
    expect((err as UnsentPartitionsError).retriable).toBe(true);
    expect((err as Error).message).toContain('r/0');
    expect(sent).toHaveLength(3);
  });
});
