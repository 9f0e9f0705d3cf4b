import { describe, expect, it } from 'vitest';
import { stoppedRemaining } from '../../cli/demo/run.ts';

describe('the demo reads what an edge left in its outbox from its last log line', () => {
  it('takes `remaining` of the last "edge gateway stopped" line', () => {
    const tail = [
      '{"level":"info","msg":"edge gateway started"}',
      '{"level":"info","edgeId":"edge-sub-01","drained":false,"remaining":12,"msg":"edge gateway stopped"}',
      '{"level":"info","edgeId":"edge-sub-01","drained":false,"remaining":246937,"msg":"edge gateway stopped"}',
    ].join('\n');
    expect(stoppedRemaining(tail)).toBe(246_937);
  });

  it('is undefined without such a line, or with a line it cannot read', () => {
    expect(stoppedRemaining('{"msg":"edge gateway started"}')).toBeUndefined();
    expect(stoppedRemaining('not json "edge gateway stopped"')).toBeUndefined();
    expect(stoppedRemaining('{"remaining":"x","msg":"edge gateway stopped"}')).toBeUndefined();
  });
});
