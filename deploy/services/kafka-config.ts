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
    ['listeners', `PLAINTEXT://${HOST}:${c.brokerPort},CONTROLLER://${HOST}:${c.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://${HOST}:${c.brokerPort}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
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
  return `# Written by gridwatch deploy/services (do not edit: rewritten on every start)\n${lines.map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
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
