// Kafka clients for the security tests, configured only through shared/kafka/security.ts, as the
// programs are. Credentials come from the harness (<cache>/etc/kafka-pki).
import kafkajs, { type Kafka as KafkaClient } from 'kafkajs';
import { serviceEndpoints, type KafkaPrincipal } from '../../../deploy/services/index.ts';
import { kafkaSecurity, type KafkaSaslMechanism, type KafkaSecurity } from '../../../shared/kafka/security.ts';

const { Kafka, logLevel } = kafkajs;

export function secureKafka(): { brokers: string[]; caFile: string; principals: Record<'admin' | 'edge' | 'central', KafkaPrincipal> } {
  const secure = serviceEndpoints().kafkaSecure;
  if (!secure) throw new Error('the harness gives no SASL_SSL endpoint');
  return secure;
}

/** A principal's security: SCRAM (default SHA-512) inside TLS, with its client certificate unless `cert: false`. */
export function securityOf(p: KafkaPrincipal, opts: { mechanism?: KafkaSaslMechanism; cert?: { certFile: string; keyFile: string } | false; caFile?: string; password?: string } = {}): KafkaSecurity {
  const cert = opts.cert === undefined ? p : opts.cert;
  return kafkaSecurity({
    kafkaTls: true,
    kafkaTlsCaFile: opts.caFile ?? secureKafka().caFile,
    ...(cert ? { kafkaTlsCertFile: cert.certFile, kafkaTlsKeyFile: cert.keyFile } : {}),
    kafkaSaslMechanism: opts.mechanism ?? 'scram-sha-512',
    kafkaSaslUsername: p.username,
    ...(opts.password !== undefined ? { kafkaSaslPassword: opts.password } : { kafkaSaslPasswordFile: p.passwordFile }),
  });
}

/** `debugLog` receives kafkajs' debug entries as JSON (some refusals, such as a denied group, are only told there). */
export function client(security: KafkaSecurity, brokers = secureKafka().brokers, debugLog?: string[]): KafkaClient {
  return new Kafka({
    clientId: 'gridwatch-kafkasec-test',
    brokers,
    ...security,
    logLevel: debugLog ? logLevel.DEBUG : logLevel.NOTHING,
    ...(debugLog ? { logCreator: () => (entry: { log: unknown }) => void debugLog.push(JSON.stringify(entry.log)) } : {}),
    connectionTimeout: 5000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Runs `fn` expecting it to fail; returns the error (fails the test if it succeeds). */
export async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the broker to refuse, but the call succeeded');
}

/**
 * The error a consumer meets when it tries to read `topic` in `groupId`: thrown by subscribe or
 * reported by the consumer's crash event (joining the group). Undefined if it got a message.
 */
export async function consumeFailure(kafka: KafkaClient, topic: string, groupId: string, timeoutMs = 30_000): Promise<unknown> {
  const consumer = kafka.consumer({ groupId, retry: { retries: 0, restartOnFailure: async () => false }, sessionTimeout: 10_000 });
  try {
    await consumer.connect();
    return await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer of ${topic} neither failed nor read within ${timeoutMs} ms`)), timeoutMs);
      consumer.on(consumer.events.CRASH, (e) => {
        clearTimeout(timer);
        resolve(e.payload.error);
      });
      consumer
        .subscribe({ topics: [topic], fromBeginning: true })
        .then(() => consumer.run({ eachMessage: async () => { clearTimeout(timer); resolve(undefined); } }))
        .catch((err: unknown) => {
          clearTimeout(timer);
          resolve(err);
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
