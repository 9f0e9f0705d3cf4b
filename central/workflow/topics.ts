// The workflow's two topics, central's own (the edge never reads nor writes them): named like the
// others, <kafkaTopicPrefix> + the default, each overridable.
import { Type } from '@sinclair/typebox';
import type { WorkflowTopics } from './service.ts';

export const WORKFLOW_TOPIC_DEFAULTS = { actions: 'grid.event-actions', maintenance: 'grid.maintenance' } as const;

const NAME = '^[A-Za-z0-9._-]{1,249}$';

/** TypeBox properties spread into central's config schema. */
export const workflowTopicSettings = {
  topicEventActions: Type.Optional(Type.String({ pattern: NAME, description: `Operators' actions on grid events (key eventId), the audit trail; default <kafkaTopicPrefix>${WORKFLOW_TOPIC_DEFAULTS.actions}` })),
  topicMaintenance: Type.Optional(Type.String({ pattern: NAME, description: `Maintenance windows (compacted, key windowId; a tombstone cancels); default <kafkaTopicPrefix>${WORKFLOW_TOPIC_DEFAULTS.maintenance}` })),
};

export function workflowTopics(c: { kafkaTopicPrefix: string; topicEventActions?: string; topicMaintenance?: string }): WorkflowTopics {
  return { actions: c.topicEventActions ?? c.kafkaTopicPrefix + WORKFLOW_TOPIC_DEFAULTS.actions, maintenance: c.topicMaintenance ?? c.kafkaTopicPrefix + WORKFLOW_TOPIC_DEFAULTS.maintenance };
}
