// The one kafkajs client factory: its log policy, and the connection security passed through
// (a client given TLS settings opens with a TLS ClientHello, one without speaks plain Kafka).
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createKafkaClient, PLAINTEXT } from '../../../shared/kafka/index.ts';

function recorder() {
  const lines: string[] = [];
  const at = (level: string) => (_f: object, msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, logger: { debug: at('debug'), warn: at('warn'), error: at('error') } };
}

/** The first byte a client sends to a loopback listener that never answers. */
async function firstByte(security: Parameters<typeof createKafkaClient>[0]['security']): Promise<number> {
  const sockets: import('node:net').Socket[] = [];
  let resolve!: (b: number) => void;
  const got = new Promise<number>((r) => (resolve = r));
  const server = createServer((s) => {
    sockets.push(s);
    s.once('data', (d) => resolve(d[0]!));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const admin = createKafkaClient({ brokers: [`127.0.0.1:${port}`], clientId: 'client-test', retries: 0, connectionTimeoutMs: 1000, requestTimeoutMs: 1000, ...(security ? { security } : {}) }).admin();
  const connecting = admin.connect().catch(() => undefined);
  try {
    return await got;
  } finally {
    for (const s of sockets) s.destroy();
    await connecting;
    await admin.disconnect().catch(() => undefined);
    await new Promise<void>((r) => server.close(() => r()));
  }
}

describe('createKafkaClient', () => {
  it('sends kafkajs warnings and errors to the logger at their level, or at debug for a part that logs its own failures', () => {
    const a = recorder();
    const k = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 't', logger: a.logger });
    k.logger().warn('rebalancing');
    k.logger().error('connection lost');
    k.logger().info('not kept'); // below the policy's level
    expect(a.lines).toEqual(['warn kafkajs: rebalancing', 'error kafkajs: connection lost']);
    const b = recorder();
    const quiet = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 't', logger: b.logger, kafkajsLogs: 'debug' });
    quiet.logger().error('connection lost');
    expect(b.lines).toEqual(['debug kafkajs: connection lost']);
  });

  it('passes the TLS settings through: the client opens with a TLS ClientHello (0x16), without them with a Kafka request', async () => {
    expect(await firstByte({ ssl: { rejectUnauthorized: true }, describe: () => 'SSL' })).toBe(0x16);
    expect(await firstByte(PLAINTEXT)).toBe(0x00); // the 4-byte size of a Kafka request starts with 0
    expect(PLAINTEXT.describe()).toBe('PLAINTEXT');
  }, 20_000);
});
