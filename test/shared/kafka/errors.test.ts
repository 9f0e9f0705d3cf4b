import { describe, expect, it } from 'vitest';
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

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and is jittered between half and full', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 0.5)).toBe(600);
    expect(backoffDelay(20, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(20, 100, 10_000, () => 0)).toBe(5_000);
  });
});
