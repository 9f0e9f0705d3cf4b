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
 * tens of thousands of publishes. The gate changes none of aedes' arithmetic: while it is closed,
 * a call that would bring a client's count to 0 (and so read) is deferred, counted, and replayed
 * when the client is released, in the order aedes would have seen it. The 'readable' listener is
 * routed through the same check. aedes' own `pause()` is left to aedes (the CONNECT's
 * authentication): a paused client's calls go to aedes as they come.
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
 * while the gate is closed, and held again when that chunk is done. In the worst case (a gateway slower than the devices
 * for a long time) every connection has at most one chunk in flight, which is aedes' own bound
 * without its early reads; normally the gate's `max`. aedes' keep-alive timers are refreshed on
 * every completion and, while the gate is closed, for every client: the first fixed run still
 * stalled at 81,358 of 200,000 with 99 of the 100 connections closed by aedes for "keep alive
 * timeout", clients not held but with a chunk in flight for more than 90 s on a starved machine
 * (load 20-26 on 2 cores); a client is silent only when it sends nothing, not when the gateway is
 * slow to get through what it sent. Also fixed: the draft set aedes'
 * `_paused` and `_parsingBatch` itself, and under load a client was left with a count of 1,
 * nothing in flight and its socket unread (seen in the broker test: 2,205 bytes waiting, never
 * read); deferring calls instead keeps aedes' count exact. An error completion always goes to
 * aedes at once (it closes the connection), and a publish of a client the gate no longer tracks is
 * not counted (nothing would ever take it off).
 *
 * A read is sized too (session 9): aedes reads with `conn.read(null)`, i.e. everything the socket
 * buffered (up to its highWaterMark, 256 KiB: ~800 fleet readings), so the count bound alone was
 * exceeded by one whole chunk per reading connection; every release and every age release read
 * ~800 publishes, and with 100 connections the gateway still held up to 100 x 800 (RSS peaks of
 * 450-650 MB in the fleet, edge/README.md). Now a read takes at most what fits in the room left
 * under `max` (the room times the bytes a publish has taken on average), and never less than
 * `minReadBytes`, so one fast publisher with the gate open still reads its whole buffer (big commit
 * groups), while a gateway at its bound reads a few publishes a connection. What stays unread
 * waits in the socket's buffer and then in the kernel: TCP pushes back on the device. A capped
 * read may end inside a packet: then nothing was parsed, aedes' count is 0 and no 'readable'
 * event will come for bytes already buffered, so the gate reads on until a packet is parsed or
 * the buffer is empty (`readOn`). Held at once, at most: `max` plus, per connection that read
 * at the bound, the publishes of `minReadBytes` (12 fleet readings of ~330 bytes at 4 KiB).
 */
export interface AedesClientInternals {
  _parsingBatch: number;
  _paused: boolean;
  _nextBatch: (err?: Error) => void;
  conn?: { removeListener(ev: 'readable', fn: () => void): unknown; on(ev: 'readable', fn: () => void): unknown };
  _keepaliveTimer?: { refresh(): unknown } | null;
}

/** The socket as the read cap needs it (net.Socket, TLSSocket, ws' Duplex: all byte streams). */
interface ByteStream {
  read(size?: number | null): Buffer | null;
  readonly readableLength: number;
}

/**
 * Bytes a publish is assumed to take until 64 were seen: low on purpose (a low guess reads less, never
 * past the bound); a single reading with every channel is ~330, a bare voltage reading ~100.
 */
const FIRST_GUESS_BYTES = 96;

/** While the gate is closed, held clients are looked at this often (age, keep-alive). */
const TICK_MS = 250;

interface Held {
  /** Calls of aedes' nextBatch deferred (the first reads the socket). */
  calls: number;
  since: number;
}

export class InflightGate {
  private inflight = 0;
  private isClosed = false;
  private readonly clients = new Set<AedesClientInternals>();
  /** Publishes of each client entered and not yet completed by aedes (PUBACK written, routed). */
  private readonly pending = new Map<AedesClientInternals, number>();
  /** Clients whose next read is deferred, in the order they were held. */
  private readonly held = new Map<AedesClientInternals, Held>();
  private readonly next = new WeakMap<AedesClientInternals, (err?: Error) => void>();
  private ticker: NodeJS.Timeout | null = null;
  /** Times the gate closed since start. */
  closings = 0;
  /** Times a client held for maxHoldMs was read while the gate was closed. */
  ageReleases = 0;
  /** Most publishes held at once since start (the bound's proof in the fleet benchmark). */
  peak = 0;
  /** Reads cut to the room under the bound (the rest left in the socket). */
  cappedReads = 0;
  /** Bytes read and publishes entered, for the bytes a publish takes on average (halved now and then: recent traffic counts most). */
  private bytesRead = 0;
  private entered = 0;

  /**
   * max: publishes held at once; maxHoldMs: longest a client with nothing in flight is held;
   * minReadBytes: the smallest read of a connection at the bound (a few publishes, so the gate's
   * overshoot is a few publishes a connection, and a packet always completes in a few reads).
   */
  constructor(
    readonly max: number,
    readonly maxHoldMs = 1000,
    readonly minReadBytes = 4096,
  ) {}

  /** The most a connection's next read may take: what the room under the bound holds, at least minReadBytes. */
  readCap(): number {
    const perPublish = this.entered >= 64 ? this.bytesRead / this.entered : FIRST_GUESS_BYTES;
    return Math.max(this.minReadBytes, Math.floor((this.max - this.inflight) * perPublish));
  }

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

  /** A new connection (before aedes reads from it): its completions and 'readable' events pass through the gate. */
  add(client: AedesClientInternals): void {
    this.clients.add(client);
    this.pending.set(client, 0);
    const next = client._nextBatch;
    this.next.set(client, next);
    // Every completion of a client's packet comes here: a publish is held until aedes is done with
    // it (PUBACK written, routed to subscribers), not only until the commit: that queue grows too.
    // aedes completes a publish with `null` for no error (runSeries, write): normalised, or every
    // publish completion would bypass the gate (it did until session 9: only 'readable' events
    // and PINGREQs were ever deferred).
    client._nextBatch = (failure?: Error | null) => {
      const err = failure ?? undefined;
      const mine = this.pending.get(client) ?? 0;
      if (mine > 0) {
        this.pending.set(client, mine - 1);
        this.inflight--;
      }
      // aedes refreshes a client's keep-alive when it parses a packet; a gateway far behind (or a
      // closed gate) does not parse for a long time while this client's packets are still being
      // done: the client is not silent, the gateway is busy. Count from the last one done.
      client._keepaliveTimer?.refresh();
      this.call(client, next, err);
      this.maybeOpen();
    };
    if (client.conn !== undefined) {
      client.conn.removeListener('readable', next);
      client.conn.on('readable', () => this.call(client, next, undefined));
      this.capReads(client.conn as unknown as ByteStream);
    }
  }

  /** aedes reads with read(null), everything buffered: cut that to readCap(), leaving the rest in the socket. */
  private capReads(conn: ByteStream): void {
    if (typeof conn.read !== 'function') return;
    const read = conn.read.bind(conn);
    conn.read = (size?: number | null) => {
      // Only aedes' read(null): node's own read() and read(0) (flowing mode, read-ahead) pass through.
      if (size !== null) return read(size);
      const cap = this.readCap();
      const capped = conn.readableLength > cap;
      if (capped) this.cappedReads++;
      const buf = read(capped ? cap : null);
      if (buf !== null) this.countRead(buf.length);
      return buf;
    };
  }

  private countRead(bytes: number): void {
    this.bytesRead += bytes;
    if (this.bytesRead > 1 << 30 || this.entered > 1 << 20) {
      this.bytesRead /= 2;
      this.entered /= 2;
    }
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
    this.entered++;
    if (++this.inflight > this.peak) this.peak = this.inflight;
    if (this.inflight < this.max || this.isClosed) return;
    this.isClosed = true;
    this.closings++;
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

  /** aedes' nextBatch, or deferred when it would read while the gate is closed. */
  private call(client: AedesClientInternals, next: (err?: Error) => void, err: Error | undefined): void {
    const h = this.held.get(client);
    if (err === undefined && (h !== undefined || (this.isClosed && !client._paused && client._parsingBatch <= 1))) {
      if (h !== undefined) h.calls++;
      else {
        this.held.set(client, { calls: 1, since: performance.now() });
        client._keepaliveTimer?.refresh();
      }
      return;
    }
    next(err);
    if (err === undefined) this.readOn(client, next);
  }

  /**
   * After a capped read that ended inside a packet nothing is in flight (count 0), bytes are still
   * buffered and no 'readable' event will come for them: read on (each read takes at least
   * minReadBytes) until a packet is parsed, the buffer is empty, or the gate holds the client.
   */
  private readOn(client: AedesClientInternals, next: (err?: Error) => void): void {
    const conn = client.conn as unknown as ByteStream | undefined;
    while (conn !== undefined && client._parsingBatch === 0 && !client._paused && conn.readableLength > 0 && this.clients.has(client) && !this.held.has(client)) {
      if (this.isClosed) {
        this.held.set(client, { calls: 1, since: performance.now() });
        return;
      }
      const before = conn.readableLength;
      next();
      // A destroyed socket reads nothing and may still report bytes: never spin on it.
      if (conn.readableLength >= before) return;
    }
  }

  /** While closed: keep every client's aedes keep-alive fresh (none is read now); read a client held past maxHoldMs. */
  private tick(): void {
    const now = performance.now();
    for (const c of this.clients) c._keepaliveTimer?.refresh();
    // At most one client a tick (4/s), oldest held first, and only with nothing of its own in
    // flight: releasing every aged client at once let all 100 fleet connections read a full
    // 256 KiB chunk each second (RSS peak 608-616 MB against 491-492 MB with the gate off).
    for (const [c, h] of this.held) {
      if (now - h.since >= this.maxHoldMs && (this.pending.get(c) ?? 0) === 0) {
        this.ageReleases++;
        this.release(c);
        break;
      }
    }
  }

  /** The deferred calls, in order: the first brings the count to 0 and reads the socket. */
  private release(c: AedesClientInternals): void {
    const h = this.held.get(c);
    if (h === undefined) return;
    this.held.delete(c);
    c._keepaliveTimer?.refresh();
    const next = this.next.get(c);
    if (next === undefined) return;
    for (let i = 0; i < h.calls; i++) next();
    this.readOn(c, next);
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
}
