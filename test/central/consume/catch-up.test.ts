import { describe, expect, it } from 'vitest';
import { fetchTopicOffsetsRetrying } from '../../../central/consume/catch-up.ts';

type Offsets = { partition: number; offset: string; high: string; low: string }[];
const offsets: Offsets = [{ partition: 0, offset: '5', high: '5', low: '0' }];

function admin(failures: unknown[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    fetchTopicOffsets: async (): Promise<Offsets> => {
      calls++;
      const f = failures.shift();
      if (f) throw f;
      return offsets;
    },
  };
}

const notLeader = Object.assign(new Error('This server is not the leader for that topic-partition'), { retriable: true });

describe('fetchTopicOffsetsRetrying', () => {
  it('retries while the new topic has no leader, then returns the offsets', async () => {
    const a = admin([notLeader, notLeader]);
    await expect(fetchTopicOffsetsRetrying(a, 't', 5000)).resolves.toEqual(offsets);
    expect(a.calls).toBe(3);
  });

  it("retries kafkajs' TypeError for a new topic's metadata without partitions yet", async () => {
    // The message kafkajs 2.2.4 raises from admin.fetchTopicOffsets (src/admin/index.js) then.
    const noPartitions = new TypeError("Cannot destructure property 'partitions' of 'high.pop(...)' as it is undefined.");
    const a = admin([noPartitions]);
    await expect(fetchTopicOffsetsRetrying(a, 't', 5000)).resolves.toEqual(offsets);
    expect(a.calls).toBe(2);
  });

  it('throws any other TypeError at once', async () => {
    const a = admin([new TypeError("Cannot read properties of undefined (reading 'offset')")]);
    await expect(fetchTopicOffsetsRetrying(a, 't', 5000)).rejects.toThrow('reading');
    expect(a.calls).toBe(1);
  });

  it('throws a non-retriable error at once', async () => {
    const a = admin([new Error('authorization failed')]);
    await expect(fetchTopicOffsetsRetrying(a, 't', 5000)).rejects.toThrow('authorization failed');
    expect(a.calls).toBe(1);
  });

  it('gives up with the last error when the time is up', async () => {
    const a = admin(Array.from({ length: 50 }, () => notLeader));
    await expect(fetchTopicOffsetsRetrying(a, 't', 250)).rejects.toThrow('not the leader');
    expect(a.calls).toBeGreaterThan(1);
    expect(a.calls).toBeLessThan(6);
  });
});
