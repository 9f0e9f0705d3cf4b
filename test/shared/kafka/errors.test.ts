import { describe, expect, it } from 'vitest';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, TimeoutError, UserError } from '@platformatic/kafka';
import { backoffDelay, kafkaError } from '../../../shared/kafka/index.ts';

describe('kafkaError', () => {
  it('classifies unreachable Kafka as retryable and refusals as not', () => {
    const conn = Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError', retriable: true });
    expect(kafkaError(conn, 'x')).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    const exhausted = Object.assign(new Error('retries'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, cause: conn });
    expect(kafkaError(exhausted, 'x')).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size'), { name: 'KafkaJSProtocolError', retriable: false });
    expect(kafkaError(tooLarge, 'x')).toMatchObject({ code: 'KAFKA_REJECTED', retryable: false });
  });
});

describe('kafkaError on @platformatic/kafka errors (the edge\'s second producer client)', () => {
  it('a network error, a timeout, a retriable protocol error (also after retries) are Kafka unavailable', () => {
    const refused = new NetworkError('Connection to 127.0.0.1:1 failed.', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(kafkaError(refused, 'x')).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    expect(kafkaError(new MultipleErrors('Cannot connect to any broker.', [refused, refused]), 'x')).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    expect(kafkaError(new TimeoutError('Request timed out'), 'x')).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    const notLeader = new MultipleErrors('produce failed 3 times.', [new ProtocolError('NOT_LEADER_OR_FOLLOWER'), new ProtocolError('NOT_LEADER_OR_FOLLOWER')]);
    const e = kafkaError(notLeader, 'forwarding');
    expect(e).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    // The wrapper's message says little; the leaves are in the text.
    expect(e.message).toContain('produce failed 3 times');
    expect(e.message).toMatch(/leader/i);
  });

  it('a refused login, a record Kafka rejects, a misuse are refusals (not retryable), even after network errors in earlier tries', () => {
    expect(kafkaError(new AuthenticationError('SASL authentication failed.'), 'x')).toMatchObject({ code: 'KAFKA_REJECTED', retryable: false });
    expect(kafkaError(new MultipleErrors('produce failed 2 times.', [new NetworkError('Connection closed'), new ProtocolError('MESSAGE_TOO_LARGE')]), 'x')).toMatchObject({ code: 'KAFKA_REJECTED', retryable: false });
    expect(kafkaError(new UserError('Unknown topic grid.x.'), 'x')).toMatchObject({ code: 'KAFKA_REJECTED', retryable: false });
  });

  it('leaves kafkajs errors to their own rules', () => {
    const conn = Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError', retriable: true, code: 'ECONNREFUSED' });
    expect(kafkaError(conn, 'x')).toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and is jittered between half and full', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 0.5)).toBe(600);
    expect(backoffDelay(20, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(20, 100, 10_000, () => 0)).toBe(5_000);
  });
});
