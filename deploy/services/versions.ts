// Every server version the harness provisions, pinned exactly in one place. Changing a version here
// provisions a new copy side by side in the cache (paths include the version); nothing floats.

/** Apache Kafka broker jars from Maven Central (newest 4.x when pinned). Scala 2.13 build. */
export const KAFKA_VERSION = '4.4.0';
/** Logging bridge for the broker: Kafka logs through slf4j 2; log4j2 writes the log file. */
export const SLF4J_VERSION = '2.0.17';
export const LOG4J_VERSION = '2.25.5';

/** MinIO has no tagged Go module versions; this is the module proxy's pseudo-version of master (2026-02-12). */
export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

/** InfluxDB 1.8 is pure Go and serves the v2 write API and Flux queries that @influxdata/influxdb-client speaks. */
export const INFLUXD_PACKAGE = 'github.com/influxdata/influxdb/cmd/influxd';
export const INFLUXD_VERSION = 'v1.8.10';

/** Shopify's TCP fault proxy for the reliability tests (test/reliability/toxiproxy.ts drives its HTTP API). */
export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server';
export const TOXIPROXY_VERSION = 'v2.5.0';

/** Debian bookworm packages (apt-get). Versions are Debian's; checked at provisioning and reported by `status`. */
export const DEBIAN_PACKAGES = {
  mosquitto: { pkg: 'mosquitto', version: '2.0.11-1.2+deb12u2', binary: '/usr/sbin/mosquitto' },
  // mosquitto_pub/mosquitto_sub: real MQTT clients for the edge's TLS and client-certificate tests.
  mosquittoClients: { pkg: 'mosquitto-clients', version: '2.0.11-1.2+deb12u2', binary: '/usr/bin/mosquitto_pub' },
  kcat: { pkg: 'kcat', version: '1.7.1-2', binary: '/usr/bin/kcat' },
  prometheus: { pkg: 'prometheus', version: '2.42.0+ds-5+deb12u1', binary: '/usr/bin/promtool' },
  systemd: { pkg: 'systemd', version: '252.38-1~deb12u1', binary: '/usr/bin/systemd-analyze' },
  /** Compose 1.29 (the Compose Specification); only `config` is used, to validate docker-compose.yml without an engine. */
  'docker-compose': { pkg: 'docker-compose', version: '1.29.2-3', binary: '/usr/bin/docker-compose' },
} as const;
