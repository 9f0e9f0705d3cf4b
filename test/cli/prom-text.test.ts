import { describe, expect, it } from 'vitest';
import { sumSamples } from '../../cli/demo/prom-text.ts';

const TEXT = `# HELP gridwatch_outbox_depth Outbox rows waiting for Kafka
# TYPE gridwatch_outbox_depth gauge
gridwatch_outbox_depth{lane="readings",edge_id="edge-1"} 12
gridwatch_outbox_depth{lane="events",edge_id="edge-1"} 3
gridwatch_outbox_depth_other 100
gridwatch_edge_anomalies_total{type="sag",state="open"} 4
gridwatch_edge_anomalies_total{type="sag",state="closed"} 2
gridwatch_edge_anomalies_total{type="spike",state="open"} 1
gridwatch_edge_readings_accepted_total 1.5e3
`;

describe('sumSamples', () => {
  it('sums every sample of the exact metric name, not of longer names', () => {
    expect(sumSamples(TEXT, 'gridwatch_outbox_depth')).toBe(15);
  });
  it('filters by label values', () => {
    expect(sumSamples(TEXT, 'gridwatch_edge_anomalies_total', { state: 'open' })).toBe(5);
    expect(sumSamples(TEXT, 'gridwatch_edge_anomalies_total', { state: 'open', type: 'sag' })).toBe(4);
  });
  it('reads unlabelled samples and exponent notation; a missing metric is 0', () => {
    expect(sumSamples(TEXT, 'gridwatch_edge_readings_accepted_total')).toBe(1500);
    expect(sumSamples(TEXT, 'gridwatch_nothing')).toBe(0);
  });
});
