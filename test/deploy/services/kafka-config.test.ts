import { describe, expect, it } from 'vitest';
import { renderKafkaLog4j2, renderKafkaPom, renderKafkaProperties, type KafkaNodeSecurity } from '../../../deploy/services/kafka-config.ts';
import { newClusterId } from '../../../deploy/services/kafka.ts';

const security = (over: Partial<KafkaNodeSecurity> = {}): KafkaNodeSecurity => ({
  saslSslPort: 19094,
  plaintextListener: 'open',
  caFile: '/c/etc/kafka-pki/ca.pem',
  keyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB\n-----END PRIVATE KEY-----\n',
  certificateChainPem: '-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n',
  plainUsers: { broker: 'pw-broker', admin: 'pw-admin', edge: 'pw-edge' },
  brokerUser: 'broker',
  superUsers: ['broker', 'admin'],
  ...over,
});

function parse(text: string): Map<string, string> {
  return new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('renderKafkaProperties', () => {
  it('renders a single KRaft node with replication factor 1', () => {
    const p = parse(renderKafkaProperties({ nodeId: 1, brokerPort: 19092, controllerPort: 19093, voters: [{ nodeId: 1, controllerPort: 19093 }], logDir: '/c/data/kafka/node-1', replicationFactor: 1, minInsyncReplicas: 1, security: security() }));
    expect(p.get('process.roles')).toBe('broker,controller');
    expect(p.get('controller.quorum.voters')).toBe('1@127.0.0.1:19093');
    expect(p.get('listeners')).toBe('PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094,CONTROLLER://127.0.0.1:19093');
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094');
    expect(p.get('offsets.topic.replication.factor')).toBe('1');
    expect(p.get('transaction.state.log.replication.factor')).toBe('1');
    expect(p.get('transaction.state.log.min.isr')).toBe('1');
    expect(p.get('group.initial.rebalance.delay.ms')).toBe('0');
    expect(p.get('auto.create.topics.enable')).toBe('false');
    expect(p.get('log.dirs')).toBe('/c/data/kafka/node-1');
  });

  it('renders a cluster node with RF 3, min ISR 2 and all three voters', () => {
    const voters = [1, 2, 3].map((n) => ({ nodeId: n, controllerPort: 19003 + n * 100 + 90 }));
    const p = parse(renderKafkaProperties({ nodeId: 2, brokerPort: 19292, controllerPort: 19293, voters, logDir: '/d', replicationFactor: 3, minInsyncReplicas: 2, security: security({ saslSslPort: 19294 }) }));
    expect(p.get('node.id')).toBe('2');
    expect(p.get('controller.quorum.voters')).toBe('1@127.0.0.1:19193,2@127.0.0.1:19293,3@127.0.0.1:19393');
    expect(p.get('default.replication.factor')).toBe('3');
    expect(p.get('min.insync.replicas')).toBe('2');
    expect(p.get('offsets.topic.replication.factor')).toBe('3');
    expect(p.get('transaction.state.log.min.isr')).toBe('2');
  });
});

describe('renderKafkaProperties: security', () => {
  const render = (over: Partial<KafkaNodeSecurity> = {}): Map<string, string> =>
    parse(renderKafkaProperties({ nodeId: 1, brokerPort: 19092, controllerPort: 19093, voters: [{ nodeId: 1, controllerPort: 19093 }], logDir: '/d', replicationFactor: 1, minInsyncReplicas: 1, security: security(over) }));

  it('runs the StandardAuthorizer, denies what no ACL allows, and secures the controller with client certificates', () => {
    const p = render();
    expect(p.get('authorizer.class.name')).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    expect(p.get('allow.everyone.if.no.acl.found')).toBe('false');
    expect(p.get('listener.security.protocol.map')).toBe('PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:SSL');
    expect(p.get('listener.name.controller.ssl.client.auth')).toBe('required');
    expect(p.get('listener.name.sasl_ssl.ssl.client.auth')).toBe('requested');
    expect(p.get('inter.broker.listener.name')).toBe('SASL_SSL');
    expect(p.get('sasl.enabled.mechanisms')).toBe('SCRAM-SHA-512,SCRAM-SHA-256,PLAIN');
    expect(p.get('ssl.keystore.type')).toBe('PEM');
    expect(p.get('ssl.truststore.location')).toBe('/c/etc/kafka-pki/ca.pem');
  });

  it("makes ANONYMOUS (the plaintext listener's principal) a super user only in the transitional 'open' mode", () => {
    expect(render({ plaintextListener: 'open' }).get('super.users')).toBe('User:broker;User:admin;User:ANONYMOUS');
    expect(render({ plaintextListener: 'refused' }).get('super.users')).toBe('User:broker;User:admin');
  });

  it('inlines the PEM key as one properties value and lists the PLAIN users in the JAAS line', () => {
    const p = render();
    expect(p.get('ssl.keystore.key')).toBe('-----BEGIN PRIVATE KEY-----\\nAAAA\\nBBBB\\n-----END PRIVATE KEY-----');
    const jaas = p.get('listener.name.sasl_ssl.plain.sasl.jaas.config') ?? '';
    expect(jaas).toContain('username="broker" password="pw-broker"');
    expect(jaas).toContain('user_edge="pw-edge"');
    expect(jaas.endsWith(';')).toBe(true);
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

describe('newClusterId', () => {
  it('is 22 characters of URL-safe base64 and never starts with "-" (kafka-storage would take it for an option)', () => {
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)]; // the first encodes to "-PgY...", the second to "AQEB..."
    expect(draws[0]!.toString('base64url').startsWith('-')).toBe(true);
    const id = newClusterId(() => draws.shift()!);
    expect(id).toBe(Buffer.alloc(16, 0x01).toString('base64url'));
    expect(draws).toEqual([]);
    for (let i = 0; i < 2000; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
