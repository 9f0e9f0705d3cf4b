import { TOPICS } from '../../shared/index.ts';

/** Contract name (as in contracts/v1/<name>.schema.json) carried in the `gridwatch-contract` header, by stored topic. */
export const CONTRACT_OF_TOPIC: Record<string, string> = {
  [TOPICS.readings]: 'forwarded-reading/v1',
  [TOPICS.anomalies]: 'anomaly/v1',
  [TOPICS.events]: 'grid-event/v1',
  [TOPICS.edgeStatus]: 'edge-status/v1',
  [TOPICS.topology]: 'topology-entry/v1',
  [TOPICS.gaps]: 'gap/v1',
};
