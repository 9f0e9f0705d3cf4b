import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaAcls } from '../../../deploy/services/kafka-acl.ts';

const { AclOperationTypes: Op, AclResourceTypes: Res, ResourcePatternTypes } = kafkajs;

function granted(principal: string, prefix = '', group?: string): { topic: Map<string, Set<number>>; groups: string[] } {
  const acls = kafkaAcls({ topicPrefix: prefix, ...(group ? { centralGroup: group } : {}) }).filter((a) => a.principal === `User:${principal}`);
  const topic = new Map<string, Set<number>>();
  for (const a of acls.filter((x) => x.resourceType === Res.TOPIC)) {
    expect(a.resourcePatternType).toBe(ResourcePatternTypes.LITERAL);
    topic.set(a.resourceName, (topic.get(a.resourceName) ?? new Set()).add(a.operation));
  }
  return { topic, groups: acls.filter((a) => a.resourceType === Res.GROUP).map((a) => `${a.resourceName}:${a.resourcePatternType}:${a.operation}`) };
}

describe('kafkaAcls', () => {
  it('lets the edge write only the five topics an edge produces, and read nothing', () => {
    const edge = granted('edge');
    expect([...edge.topic.keys()].sort()).toEqual(['grid.anomalies', 'grid.edge-status', 'grid.gaps', 'grid.readings', 'grid.topology']);
    for (const ops of edge.topic.values()) expect([...ops]).toEqual([Op.WRITE]);
    expect(edge.topic.has('grid.events')).toBe(false);
    expect(edge.groups).toEqual([]);
  });

  it('lets central read its inputs, write events and state, and use its prefixed consumer group', () => {
    const central = granted('central', '', 'gw-central');
    expect([...(central.topic.get('grid.events') ?? [])].sort()).toEqual([Op.READ, Op.WRITE, Op.CREATE].sort());
    expect([...(central.topic.get('grid.central-state') ?? [])].sort()).toEqual([Op.READ, Op.WRITE, Op.CREATE].sort());
    // The operators' workflow: only central reads and writes it.
    for (const t of ['grid.event-actions', 'grid.maintenance']) {
      expect([...(central.topic.get(t) ?? [])].sort(), t).toEqual([Op.READ, Op.WRITE, Op.CREATE].sort());
      expect(granted('edge').topic.has(t), t).toBe(false);
    }
    expect(central.topic.get('grid.readings')?.has(Op.WRITE)).toBe(false);
    expect(central.topic.get('grid.readings')?.has(Op.READ)).toBe(true);
    expect(central.groups).toEqual([`gw-central:${ResourcePatternTypes.PREFIXED}:${Op.READ}`]);
  });

  it('names prefixed deployments literally (demo-x.grid.readings), never a wildcard', () => {
    const edge = granted('edge', 'demo-x.');
    expect(edge.topic.has('demo-x.grid.readings')).toBe(true);
    expect(edge.topic.has('grid.readings')).toBe(false);
    expect(kafkaAcls({ topicPrefix: 'demo-x.' }).some((a) => a.resourceName === '*' || a.resourceName === '')).toBe(false);
  });
});
