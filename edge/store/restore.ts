import type { Logger } from '../../shared/index.ts';
import type { EdgeStore } from './edge-store.ts';

/** What restoring needs from the detector (edge/detect's Detector satisfies it). */
export interface RestorableDetector {
  importMeter(id: string, snapshot: never): void;
  onReading(r: never): unknown;
  takeDirty(): string[];
}

/**
 * Restores the detector after a restart, kill -9 included: per-meter checkpoints, then the
 * journal rows no checkpoint covers, fed back in order with their outputs discarded (they were
 * committed before the stop). The detector is deterministic in event time, so it ends where it
 * was at the last commit: no duplicate `open`, and seqs already taken are recognised.
 * Returns the checkpointed meters (they join the rolling checkpoints' round robin).
 */
export function restoreDetector(store: EdgeStore, detector: RestorableDetector, readingsTopic: string, logger: Logger): string[] {
  const cp = store.loadCheckpoint();
  if (cp) for (const [id, snap] of cp.states) detector.importMeter(id, snap as never);
  let replayed = 0;
  let skipped = 0;
  for (const row of store.replayAfterCheckpoint()) {
    if (row.topic !== readingsTopic) continue;
    try {
      detector.onReading(JSON.parse(row.value) as never);
      replayed++;
    } catch {
      skipped++; // a row the store kept but that does not parse: cannot change state, nothing to replay
    }
  }
  detector.takeDirty();
  const meters = cp ? [...cp.states.keys()] : [];
  logger.info({ checkpointedMeters: meters.length, replayedReadings: replayed, skipped, replayIncomplete: store.replayIncomplete() }, 'detector state restored');
  if (store.replayIncomplete()) logger.warn('the replay journal was cut under disk pressure: detector state of some meters restarts from an older checkpoint');
  return meters;
}
