/**
 * A bound on the publishes the gateway holds at once (parsed, in the intake or waiting for their
 * commit), across all connections. Per connection aedes reads the next chunk only when every
 * publish of the current one is done, but a chunk is whatever the socket buffered (up to
 * GRIDWATCH_MQTT_SOCKET_BUFFER_BYTES, 256 KiB: some 800 readings), so a gateway that fell behind (a
 * starved CPU, a slow disk) held connections x chunk publishes: 50,051 aedes Packets and about
 * 90 MB of heap with 100 connections in the fleet benchmark (heap snapshot, edge/README.md), and
 * it would be gigabytes with 20,000 connections. Past `max` the gate closes: no client reads its
 * next chunk (aedes leaves the socket unread and TCP pushes back on the devices) until the held
 * publishes are down to half of `max`. Nothing is refused or lost: the devices wait for PUBACKs,
 * as they would for a slow disk.
 *
 * How a client is held, in aedes 1.x terms (lib/client.js): `_parsingBatch` counts the publishes
 * of the current chunk in flight; each one's completion calls `client._nextBatch`, and so does a
 * socket's 'readable' event (new data), and whichever brings the count to 0 reads the socket: new
 * data alone makes a busy client read more, which is how a falling-behind gateway came to hold
 * tens of thousands of publishes. `nextBatch` returns at once while `_paused`, so a closed gate
 * pauses every client; but aedes' own `pause()` is no use mid-chunk, since completions during the
 * pause would return before they decrement and the connection would never read again. So the
 * gate wraps `_nextBatch`: while a client is held its completions decrement the count down to 1
 * (never reading), and opening hands the last one back to aedes, which reads that client's next
 * chunk. An idle client (count 0) is held with a count of 1 for the same hand-back.
 */
export interface AedesClientInternals {
  _parsingBatch: number;
  _paused: boolean;
  _nextBatch: (err?: Error) => void;
}

export class InflightGate {
  private inflight = 0;
  private isClosed = false;
  private readonly clients = new Set<AedesClientInternals>();
  /** Publishes of each client entered and not yet completed by aedes (PUBACK written, routed). */
  private readonly pending = new Map<AedesClientInternals, number>();
  /** Clients held at the end of a chunk (their last completion kept), in the order they were held. */
  private readonly held = new Set<AedesClientInternals>();
  /** Times the gate closed since start. */
  closings = 0;

  constructor(readonly max: number) {}

  get holding(): number {
    return this.inflight;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** A new connection: its completions pass through the gate. */
  add(client: AedesClientInternals): void {
    this.clients.add(client);
    this.pending.set(client, 0);
    const next = client._nextBatch;
    // Every completion of a client's packet comes here: a publish is held until aedes is done with
    // it (PUBACK written, routed to subscribers), not only until the commit: that queue grows too.
    client._nextBatch = (err?: Error) => {
      const mine = this.pending.get(client) ?? 0;
      if (mine > 0) {
        this.pending.set(client, mine - 1);
        this.inflight--;
      }
      if (this.held.has(client)) {
        // Held: count the completion, read nothing; the last one (1) is handed back at opening.
        if (client._parsingBatch > 1) client._parsingBatch--;
      } else {
        next(err);
      }
      this.maybeOpen();
    };
    this.next.set(client, next);
    if (this.isClosed) this.hold(client);
  }

  delete(client: AedesClientInternals): void {
    this.inflight -= this.pending.get(client) ?? 0;
    this.pending.delete(client);
    this.clients.delete(client);
    this.held.delete(client);
    this.next.delete(client);
    this.maybeOpen();
  }

  /** A publish of `client` entered the intake. */
  enter(client: AedesClientInternals): void {
    this.pending.set(client, (this.pending.get(client) ?? 0) + 1);
    if (++this.inflight < this.max || this.isClosed) return;
    this.isClosed = true;
    this.closings++;
    for (const c of this.clients) this.hold(c);
  }

  private maybeOpen(): void {
    if (!this.isClosed || this.inflight > this.max >> 1) return;
    this.isClosed = false;
    // Each release reads that client's buffered chunk at once, which may close the gate again:
    // the clients not reached stay held for the next opening (first held, first released).
    for (const c of [...this.held]) {
      if (this.isClosed) break;
      this.held.delete(c);
      c._paused = false;
      this.next.get(c)?.();
    }
  }

  private readonly next = new WeakMap<AedesClientInternals, (err?: Error) => void>();

  private hold(c: AedesClientInternals): void {
    if (this.held.has(c)) return;
    c._paused = true; // its 'readable' events read nothing now
    if (c._parsingBatch < 1) c._parsingBatch = 1; // idle: the hand-back at opening reads its socket
    this.held.add(c);
  }
}
