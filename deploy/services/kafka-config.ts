// Pure rendering of the broker's configuration files, kept apart so it can be unit tested.
import { HOST } from './layout.ts';

export interface KafkaNodeConfig {
  nodeId: number;
  brokerPort: number;
  controllerPort: number;
  /** Every controller of the quorum, including this node. */
  voters: readonly { nodeId: number; controllerPort: number }[];
  logDir: string;
  /** 1 for the single node; 3 for the fault-test cluster. */
  replicationFactor: number;
  minInsyncReplicas: number;
  /**
   * Ports the node tells clients to use instead of its own (plaintext, SASL_SSL): a fault proxy's
   * listeners in front of it, so that every connection after the bootstrap goes through the proxy.
   */
  advertisedPorts?: { broker: number; saslSsl: number };
  security: KafkaNodeSecurity;
}

/**
 * What the harness's brokers secure, and how. Clients use the SASL_SSL listener (SCRAM-SHA-512,
 * SCRAM-SHA-256, or PLAIN, always inside TLS; a client certificate is checked when offered). The
 * controller listener is TLS with client certificates required: brokers are the principal of their
 * certificate (User:broker). Brokers talk to each other over SASL_SSL as User:broker with PLAIN,
 * whose users live in the broker's JAAS config (SCRAM users live in the cluster metadata, which a
 * broker must reach before it can check them).
 */
export interface KafkaNodeSecurity {
  saslSslPort: number;
  /**
   * 'open' keeps the PLAINTEXT listener with User:ANONYMOUS as a super user (the bench's
   * plaintext yardstick, explicit opt-outs); 'refused' keeps the listener but grants ANONYMOUS
   * nothing (every request is refused by the authorizer).
   */
  plaintextListener: 'open' | 'refused';
  caFile: string;
  /** The broker's unencrypted PKCS#8 key and its certificate chain, inline (Java 17 cannot read PBES2-encrypted PEM files). */
  keyPem: string;
  certificateChainPem: string;
  /** user -> password for the PLAIN mechanism (the same passwords the SCRAM credentials have). */
  plainUsers: Record<string, string>;
  /** The inter-broker principal (a super user), one of plainUsers. */
  brokerUser: string;
  superUsers: readonly string[];
}

/** Distinguished name -> principal: CN=<name>,O=gridwatch (either order) becomes User:<name>. */
export const SSL_PRINCIPAL_MAPPING = 'RULE:^CN=([^,]+),O=gridwatch$/$1/,RULE:^O=gridwatch,CN=([^,]+)$/$1/,DEFAULT';

const jaasQuote = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** A PEM block as one properties value (java.util.Properties turns \\n back into newlines). */
const pemValue = (pem: string): string => pem.trim().split(/\r?\n/).join('\\n');

export function superUsersOf(s: Pick<KafkaNodeSecurity, 'superUsers' | 'plaintextListener'>): string[] {
  return [...s.superUsers, ...(s.plaintextListener === 'open' ? ['ANONYMOUS'] : [])];
}

function securityLines(c: KafkaNodeConfig): [string, string | number | boolean][] {
  const s = c.security;
  const plainJaas = [
    'org.apache.kafka.common.security.plain.PlainLoginModule required',
    `username=${jaasQuote(s.brokerUser)}`,
    `password=${jaasQuote(s.plainUsers[s.brokerUser] ?? '')}`,
    ...Object.entries(s.plainUsers).map(([u, pw]) => `user_${u}=${jaasQuote(pw)}`),
  ].join(' ') + ';';
  return [
    ['listeners', `PLAINTEXT://${HOST}:${c.brokerPort},SASL_SSL://${HOST}:${s.saslSslPort},CONTROLLER://${HOST}:${c.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://${HOST}:${c.advertisedPorts?.broker ?? c.brokerPort},SASL_SSL://${HOST}:${c.advertisedPorts?.saslSsl ?? s.saslSslPort}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'SASL_SSL'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:SSL'],
    ['sasl.enabled.mechanisms', 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN'],
    ['sasl.mechanism.inter.broker.protocol', 'PLAIN'],
    ['listener.name.sasl_ssl.plain.sasl.jaas.config', plainJaas],
    ['listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config', 'org.apache.kafka.common.security.scram.ScramLoginModule required;'],
    ['listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config', 'org.apache.kafka.common.security.scram.ScramLoginModule required;'],
    // A client certificate is verified when offered (mTLS); SASL still names the principal.
    ['listener.name.sasl_ssl.ssl.client.auth', 'requested'],
    ['listener.name.controller.ssl.client.auth', 'required'],
    ['ssl.keystore.type', 'PEM'],
    ['ssl.keystore.key', pemValue(s.keyPem)],
    ['ssl.keystore.certificate.chain', pemValue(s.certificateChainPem)],
    ['ssl.truststore.type', 'PEM'],
    ['ssl.truststore.location', s.caFile],
    ['ssl.endpoint.identification.algorithm', 'https'],
    ['ssl.enabled.protocols', 'TLSv1.3,TLSv1.2'],
    ['ssl.principal.mapping.rules', SSL_PRINCIPAL_MAPPING],
    ['authorizer.class.name', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'],
    ['allow.everyone.if.no.acl.found', false],
    ['super.users', superUsersOf(s).map((u) => `User:${u}`).join(';')],
  ];
}

/**
 * server.properties for a combined broker+controller node in KRaft mode.
 * Topic auto-creation is off on purpose: gridwatch creates its topics explicitly (with their own
 * partition counts and, for grid.topology, compaction), and a typo in a topic name should fail
 * loudly rather than create a one-partition topic nobody reads.
 */
export function renderKafkaProperties(c: KafkaNodeConfig): string {
  const voters = c.voters.map((v) => `${v.nodeId}@${HOST}:${v.controllerPort}`).join(',');
  const internalIsr = Math.min(c.minInsyncReplicas, c.replicationFactor);
  const lines: [string, string | number | boolean][] = [
    ['process.roles', 'broker,controller'],
    ['node.id', c.nodeId],
    ['controller.quorum.voters', voters],
    ...securityLines(c),
    ['log.dirs', c.logDir],
    ['auto.create.topics.enable', false],
    ['num.partitions', 1],
    ['default.replication.factor', c.replicationFactor],
    ['min.insync.replicas', c.minInsyncReplicas],
    ['offsets.topic.replication.factor', c.replicationFactor],
    // 50 offsets partitions (the default) make the first consumer group slow to start on two cores.
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.replication.factor', c.replicationFactor],
    ['transaction.state.log.min.isr', internalIsr],
    ['transaction.state.log.num.partitions', 10],
    ['share.coordinator.state.topic.replication.factor', c.replicationFactor],
    ['share.coordinator.state.topic.min.isr', internalIsr],
    // Tests start consumer groups constantly; the default 3 s delay would slow every one of them.
    ['group.initial.rebalance.delay.ms', 0],
    ['num.network.threads', 2],
    ['num.io.threads', 4],
    ['log.retention.hours', 24],
  ];
  return `# Written by gridwatch deploy/services (do not edit: rewritten on every start). Holds secrets: mode 0600.\n${lines.map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

/** log4j2 configuration: everything to stdout, which the harness redirects to the service's log file. */
export function renderKafkaLog4j2(): string {
  return [
    'status = warn',
    'appender.console.type = Console',
    'appender.console.name = STDOUT',
    'appender.console.layout.type = PatternLayout',
    'appender.console.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.stdout.ref = STDOUT',
    'logger.kafka.name = kafka',
    'logger.kafka.level = INFO',
    'logger.state.name = state.change.logger',
    'logger.state.level = WARN',
    'logger.request.name = kafka.request.logger',
    'logger.request.level = WARN',
    '',
  ].join('\n');
}

/** A Maven project whose only purpose is to resolve the broker's runtime dependency closure. */
export function renderKafkaPom(v: { kafka: string; slf4j: string; log4j: string }): string {
  const dep = (g: string, a: string, ver: string): string =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${ver}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by gridwatch deploy/services: resolves the Kafka broker jars from Maven Central. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>gridwatch.services</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>${v.kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', v.kafka)}
    <!-- Kafka logs through slf4j 2 (direct dependencies win over the 1.7 that arrives transitively). -->
${dep('org.slf4j', 'slf4j-api', v.slf4j)}
${dep('org.apache.logging.log4j', 'log4j-slf4j2-impl', v.log4j)}
${dep('org.apache.logging.log4j', 'log4j-core', v.log4j)}
  </dependencies>
</project>
`;
}
