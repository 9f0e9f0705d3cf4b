// The lifecycle every long-running part of a program has: a composition root builds parts in the
// order data flows, starts them in that order, and stops them in reverse, so a part never
// outlives what it feeds nor starts before what feeds it. Pure: no I/O here.

export interface Part {
  /** Short name for logs ("outbox", "group consumer"). */
  readonly name: string;
  start(): Promise<void>;
  /** Stop by `deadline` (epoch ms) at the latest; whatever cannot finish by then is left as a crash would leave it. */
  stop(deadline: number): Promise<void>;
}

interface LifecycleLog {
  info(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/**
 * Starts parts in order. When one fails, the parts already started are stopped in reverse (with
 * `cleanupMs` to do it) and the start error is thrown; returns the started parts otherwise.
 */
export async function startParts(parts: readonly Part[], log: LifecycleLog, cleanupMs = 10_000): Promise<void> {
  const started: Part[] = [];
  for (const p of parts) {
    try {
      await p.start();
      started.push(p);
    } catch (err) {
      log.error({ part: p.name, err }, 'start failed; stopping the parts already started');
      await stopParts(started, Date.now() + cleanupMs, log);
      throw err;
    }
  }
}

/** Stops parts in reverse order; a failing stop is logged and the others still stop. */
export async function stopParts(parts: readonly Part[], deadline: number, log: LifecycleLog): Promise<void> {
  for (const p of [...parts].reverse()) {
    try {
      await p.stop(deadline);
    } catch (err) {
      log.error({ part: p.name, err }, 'stop failed; continuing with the others');
    }
  }
}

/** A part from two functions, for the small things a root wires inline (a timer, a listener). */
export function part(name: string, start: () => Promise<void> | void, stop: (deadline: number) => Promise<void> | void = () => undefined): Part {
  return {
    name,
    start: async () => void (await start()),
    stop: async (deadline) => void (await stop(deadline)),
  };
}

/** setInterval that does not keep the process alive, as a part (started and stopped with the rest). */
export function intervalPart(name: string, ms: number, fn: () => void): Part {
  let timer: NodeJS.Timeout | null = null;
  return part(
    name,
    () => {
      timer = setInterval(fn, ms);
      timer.unref();
    },
    () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  );
}
