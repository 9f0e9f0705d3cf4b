import { describe, expect, it } from 'vitest';
import { renderKafkaLog4j2, renderKafkaPom, renderKafkaProperties } from '../../../deploy/services/kafka-config.ts';

function parse(text: string): Map<string, string> {
  return new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('renderKafkaProperties', () => {
  it('renders a single KRaft node with replication factor 1', () => {
    const p = parse(renderKafkaProperties({ nodeId: 1, brokerPort: 19092, controllerPort: 19093, voters: [{ nodeId: 1, controllerPort: 19093 }], logDir: '/c/data/kafka/node-1', replicationFactor: 1, minInsyncReplicas: 1 }));
    expect(p.get('process.roles')).toBe('broker,controller');
    expect(p.get('controller.quorum.voters')).toBe('1@127.0.0.1:19093');
    expect(p.get('listeners')).toBe('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:19092');
    expect(p.get('offsets.topic.replication.factor')).toBe('1');
    expect(p.get('transaction.state.log.replication.factor')).toBe('1');
    expect(p.get('transaction.state.log.min.isr')).toBe('1');
    expect(p.get('group.initial.rebalance.delay.ms')).toBe('0');
    expect(p.get('auto.create.topics.enable')).toBe('false');
    expect(p.get('log.dirs')).toBe('/c/data/kafka/node-1');
  });

  it('renders a cluster node with RF 3, min ISR 2 and all three voters', () => {
    const voters = [1, 2, 3].map((n) => ({ nodeId: n, controllerPort: 19003 + n * 100 + 90 }));
    const p = parse(renderKafkaProperties({ nodeId: 2, brokerPort: 19292, controllerPort: 19293, voters, logDir: '/d', replicationFactor: 3, minInsyncReplicas: 2 }));
    expect(p.get('node.id')).toBe('2');
    expect(p.get('controller.quorum.voters')).toBe('1@127.0.0.1:19193,2@127.0.0.1:19293,3@127.0.0.1:19393');
    expect(p.get('default.replication.factor')).toBe('3');
    expect(p.get('min.insync.replicas')).toBe('2');
    expect(p.get('offsets.topic.replication.factor')).toBe('3');
    expect(p.get('transaction.state.log.min.isr')).toBe('2');
  });
});

describe('renderKafkaLog4j2 and renderKafkaPom', () => {
  it('logs to stdout (the harness redirects it to the log file)', () => {
    expect(renderKafkaLog4j2()).toContain('appender.console.type = Console');
  });

  it('pins the broker and the logging bridge', () => {
    const pom = renderKafkaPom({ kafka: '4.4.0', slf4j: '2.0.17', log4j: '2.25.5' });
    expect(pom).toContain('<artifactId>kafka_2.13</artifactId><version>4.4.0</version>');
    expect(pom).toContain('<artifactId>log4j-slf4j2-impl</artifactId><version>2.25.5</version>');
  });
});
