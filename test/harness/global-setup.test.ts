import { describe, expect, it } from 'vitest';
import { kafkaSecureFromEnv } from './global-setup.ts';

describe('GRIDWATCH_TEST_KAFKA_SECURE', () => {
  it('is SASL_SSL unless plaintext is asked for by name', () => {
    expect(kafkaSecureFromEnv(undefined)).toBe(true);
    expect(kafkaSecureFromEnv('')).toBe(true);
    expect(kafkaSecureFromEnv('true')).toBe(true);
    expect(kafkaSecureFromEnv('false')).toBe(false);
  });

  it('refuses a value it does not know rather than guessing a mode', () => {
    expect(() => kafkaSecureFromEnv('no')).toThrow(/must be true or false, got "no"/);
    expect(() => kafkaSecureFromEnv('0')).toThrow(/GRIDWATCH_TEST_KAFKA_SECURE/);
  });
});
