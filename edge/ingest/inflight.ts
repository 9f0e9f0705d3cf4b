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
 *
 * Why the first draft stalled the paced fleet run (172,286 of 200,000 readings, then nothing): it
 * released held clients first held, first released, one chunk each, until the gate closed again:
 * with 100 connections of ~800 buffered publishes each and a gateway starved to ~1,500 readings/s,
 * a client's turn came every ~50 s and more, and a held client receives nothing at all (no PUBACK,
 * no PINGRESP: its PINGREQ is not read). MQTT.js (5.x) reschedules its keep-alive only on packets
 * it RECEIVES, so after 1.5 x keepalive (90 s at the default 60) the device closed the connection
 * itself ("Keepalive timeout"); aedes, which refreshes a client's keep-alive only when it handles
 * one of its packets, would do the same from its side. The fleet's publisher does not reconnect:
 * its readings on those connections were never sent. So now no client is held longer than
 * `maxHoldMs` (default 1 s) once its own publishes are done: it is then read for one chunk even
 * while the gate is closed, and held again. In the worst case (a gateway slower than the devices
 * for a long time) every connection has at most one chunk in flight, which is aedes' own bound
 * without its early reads; normally the gate's `max`. Held clients' aedes keep-alive timers are
 * refreshed (the gate holds them on purpose; they are alive). Also fixed: an error
 * completion is always handed to aedes (it closes the connection; the draft swallowed it while
 * held, leaving a device waiting for a PUBACK that never came), a publish of a client the gate no
 * longer tracks is not counted (nothing would ever take it off), and a client aedes has paused
 * itself (authenticating its CONNECT) is left to aedes' own resume().
 */
export interface AedesClientInternals {
  _parsingBatch: number;
  _paused: boolean;
  _nextBatch: (err?: Error) => void;
  /** aedes: set while the CONNECT is being authenticated (the client is paused by aedes then). */
  connecting?: boolean;
  connected?: boolean;
  _keepaliveTimer?: { refresh(): unknown } | null;
}

/** While the gate is closed, held clients are looked at this often (age, keep-alive). */
const TICK_MS = 250;

export class InflightGate {
  private inflight = 0;
  private isClosed = false;
  private readonly clients = new Set<AedesClientInternals>();
  /** Publishes of each client entered and not yet completed by aedes (PUBACK written, routed). */
  private readonly pending = new Map<AedesClientInternals, number>();
  /** Clients held at the end of a chunk (their last completion kept), in the order they were held, with when. */
  private readonly held = new Map<AedesClientInternals, number>();
  private readonly next = new WeakMap<AedesClientInternals, (err?: Error) => void>();
  private ticker: NodeJS.Timeout | null = null;
  /** Times the gate closed since start. */
  closings = 0;
  /** Times a client held for maxHoldMs was read while the gate was closed. */
  ageReleases = 0;

  /** max: publishes held at once; maxHoldMs: longest a client with nothing in flight is held. */
  constructor(
    readonly max: number,
    readonly maxHoldMs = 1000,
  ) {}

  /** Publishes entered and not yet completed. */
  get holding(): number {
    return this.inflight;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Connections held (not read) right now. */
  get heldClients(): number {
    return this.held.size;
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
      if (err === undefined && this.held.has(client)) {
        // Held: count the completion, read nothing; the last one (1) is handed back at opening.
        if (client._parsingBatch > 1) client._parsingBatch--;
        // aedes' resume() (after a CONNECT) unpauses and calls this: keep the socket unread.
        client._paused = true;
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
    const mine = this.pending.get(client);
    // A client already gone (a will fired at close) has no completion to come through the gate.
    if (mine === undefined) return;
    this.pending.set(client, mine + 1);
    ++this.inflight;
    if (this.isClosed) {
      // Read while closed (its hold ran out): held again after this chunk.
      this.hold(client);
      return;
    }
    if (this.inflight < this.max) return;
    this.isClosed = true;
    this.closings++;
    for (const c of this.clients) this.hold(c);
    if (this.ticker === null) {
      this.ticker = setInterval(() => this.tick(), TICK_MS);
      this.ticker.unref();
    }
  }

  /** Stops the timer (the broker is closing). */
  close(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
  }

  /** While closed: keep held clients' aedes keep-alive fresh; read a client held past maxHoldMs once its publishes are done. */
  private tick(): void {
    const now = performance.now();
    for (const [c, since] of [...this.held]) {
      c._keepaliveTimer?.refresh();
      if (now - since >= this.maxHoldMs && (this.pending.get(c) ?? 0) === 0) {
        this.ageReleases++;
        this.release(c);
      }
    }
  }

  private release(c: AedesClientInternals): void {
    this.held.delete(c);
    c._keepaliveTimer?.refresh();
    // Authenticating: aedes paused it and resumes it itself once the CONNECT is done.
    if (c.connecting === true && c.connected !== true) return;
    c._paused = false;
    this.next.get(c)?.();
  }

  private maybeOpen(): void {
    if (!this.isClosed || this.inflight > this.max >> 1) return;
    this.isClosed = false;
    // Each release reads that client's buffered chunk at once, which may close the gate again:
    // the clients not reached stay held for the next opening (first held, first released).
    for (const c of [...this.held.keys()]) {
      if (this.isClosed) break;
      this.release(c);
    }
    if (!this.isClosed) this.close();
  }

  private hold(c: AedesClientInternals): void {
    if (this.held.has(c)) return;
    c._paused = true; // its 'readable' events read nothing now
    if (c._parsingBatch < 1) c._parsingBatch = 1; // idle: the hand-back at opening reads its socket
    this.held.set(c, performance.now());
    c._keepaliveTimer?.refresh();
  }
}
