/**
 * The settings of an in-process gateway that needs no server: no Kafka listens on the configured
 * broker (the outbox keeps everything), MQTT and HTTP on ephemeral loopback ports, anonymous MQTT,
 * no drain wait at stop. `extra` adds or overrides settings.
 */
export function offlineEdgeEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GRIDWATCH_DATA_DIR: dataDir,
    GRIDWATCH_KAFKA_BROKERS: '127.0.0.1:1',
    GRIDWATCH_ENSURE_TOPICS: 'false',
    GRIDWATCH_MQTT_HOST: '127.0.0.1',
    GRIDWATCH_MQTT_PORT: '0',
    GRIDWATCH_HTTP_HOST: '127.0.0.1',
    GRIDWATCH_HTTP_PORT: '0',
    GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true',
    GRIDWATCH_DRAIN_TIMEOUT_MS: '0',
    ...extra,
  };
}
