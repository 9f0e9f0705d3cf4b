import { GridwatchError } from '../errors.ts';

// The one classifier of what kafkajs throws, for every program (edge forwarder, central, tools).
// Retry loops consult only the `retryable` flag of what it returns.

/**
 * Classifies what kafkajs throws. Connection, timeout and "retries exhausted on a retriable
 * error" mean Kafka is unreachable for now: KAFKA_UNAVAILABLE, retryable. A protocol error
 * kafkajs marks non-retriable (message too large, authorization, invalid record) is
 * KAFKA_REJECTED, not retryable as is; the forwarder then shrinks its batch to isolate the record.
 */
export function kafkaError(err: unknown, what: string): GridwatchError {
  if (err instanceof GridwatchError) return err;
  // (security) a refused login / untrusted certificate / denied ACL is classified first, here, once
  // shared/kafka/security.ts's classifyKafkaRefusal is wired in.
  const e = err as { name?: string; message?: string; retriable?: boolean; cause?: { retriable?: boolean; name?: string } } | null;
  const name = e?.name ?? 'Error';
  const message = `${what}: ${name}: ${e?.message ?? String(err)}`;
  const causeRetriable = e?.cause?.retriable === true || (e?.cause?.name ?? '').includes('Connection');
  const unavailable =
    e?.retriable === true ||
    name === 'KafkaJSConnectionError' ||
    name === 'KafkaJSConnectionClosedError' ||
    name === 'KafkaJSRequestTimeoutError' ||
    name === 'KafkaJSNoBrokerAvailableError' ||
    name === 'KafkaJSBrokerNotFound' ||
    name === 'KafkaJSTimeout' ||
    name === 'KafkaJSLockTimeout' ||
    (name === 'KafkaJSNumberOfRetriesExceeded' && (causeRetriable || e?.cause === undefined));
  return unavailable
    ? new GridwatchError('KAFKA_UNAVAILABLE', message, { retryable: true, cause: err })
    : new GridwatchError('KAFKA_REJECTED', message, { retryable: false, cause: err });
}

/** Exponential backoff with jitter: half fixed, half random, so many gateways do not reconnect in step. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + random() * (base / 2));
}
