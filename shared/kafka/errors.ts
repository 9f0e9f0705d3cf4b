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
  // @platformatic/kafka's errors (the edge's second producer client) carry their own verdict.
  const plt = platformaticRetryable(err);
  if (plt !== undefined) {
    const p = err as { name?: string; message?: string };
    const text = `${what}: ${p.name ?? 'Error'}: ${p.message ?? String(err)}${causeText(err)}`;
    return plt ? new GridwatchError('KAFKA_UNAVAILABLE', text, { retryable: true, cause: err }) : new GridwatchError('KAFKA_REJECTED', text, { retryable: false, cause: err });
  }
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

/**
 * Every node of an error tree, breadth first, at most 50: `cause`, kafkajs' `originalError` and
 * `retriableError` (its retry wrappers), AggregateError `errors` (@platformatic/kafka's).
 */
export function errorTree(err: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length > 0 && out.length < 50) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const r = e as Record<string, unknown>;
    out.push(r);
    queue.push(r.cause, r.originalError, r.retriableError);
    if (Array.isArray(r.errors)) queue.push(...(r.errors as unknown[]));
  }
  return out;
}

/**
 * Whether an @platformatic/kafka error means "Kafka is away for now" (a network error or a
 * timeout, a retriable protocol error such as NOT_LEADER_OR_FOLLOWER) rather than a refusal
 * (authentication, a record Kafka rejects, an ACL): undefined when it is not one of its errors.
 */
export function platformaticRetryable(err: unknown): boolean | undefined {
  const all = errorTree(err);
  const ours = all.filter((e) => typeof e.code === 'string' && e.code.startsWith('PLT_KFK_'));
  if (ours.length === 0) return undefined;
  const refused = ours.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || e.code === 'PLT_KFK_USER' || e.code === 'PLT_KFK_UNSUPPORTED_API' || (e.code === 'PLT_KFK_PROTOCOL' && e.canRetry === false));
  if (refused) return false;
  return ours.some((e) => e.code === 'PLT_KFK_NETWORK' || e.canRetry === true);
}


/** The innermost messages of an @platformatic/kafka error ("produce failed 3 times" says little alone). */
function causeText(err: unknown): string {
  const leaves = errorTree(err).filter((e) => e !== err && typeof e.message === 'string' && !Array.isArray(e.errors)).map((e) => String(e.message));
  const unique = [...new Set(leaves)].slice(0, 3);
  return unique.length > 0 ? ` (${unique.join('; ')})` : '';
}
