// The live grid-event stream (Server-Sent Events), read with fetch rather than EventSource:
// EventSource cannot send an Authorization header, and a token in the URL would end up in logs
// and history. Every failure closes the stream and reopens it after an exponential backoff (1 s
// doubling to 30 s, with jitter so many consoles do not return in step), and the state is
// reported so the header can show it. A 401 or 403 is not retried: the token is no longer good.

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

/** Splits an SSE byte stream into { event, data } messages (the `text/event-stream` format). */
export function sseParser(onMessage) {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer[end] === '\r' ? 4 : 2));
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue; // a comment: the heartbeat
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) onMessage({ event, data: data.join('\n') });
    }
  };
}

/**
 * @param {string} url
 * @param {{ headers: () => Record<string, string>, onEvent: (e: any) => void,
 *   onState: (s: { state: string, attempt: number, retryAt?: number }) => void, onOpen: () => void,
 *   onUnauthorized: () => void }} handlers  onOpen runs on every (re)connection, to resynchronise the snapshot.
 * @returns {() => void} stops the stream
 */
export function connectStream(url, { headers, onEvent, onState, onOpen, onUnauthorized }) {
  let attempt = 0;
  let ctl;
  let timer;
  let stopped = false;

  const deliver = ({ event, data }) => {
    if (event !== 'grid-event' && event !== 'message') return;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return; // a malformed record: nothing to merge
    }
    onEvent(parsed);
  };

  const retry = () => {
    if (stopped) return;
    attempt += 1;
    const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
    onState({ state: 'reconnecting', attempt, retryAt: Date.now() + delay });
    timer = setTimeout(open, delay);
  };

  const open = async () => {
    onState({ state: attempt === 0 ? 'connecting' : 'reconnecting', attempt });
    ctl = new AbortController();
    try {
      const res = await fetch(url, { headers: headers({ accept: 'text/event-stream' }), cache: 'no-store', signal: ctl.signal });
      if (res.status === 401 || res.status === 403) return onUnauthorized();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      attempt = 0;
      onState({ state: 'live', attempt: 0 });
      onOpen();
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      const feed = sseParser(deliver);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // network failure, a cut stream, or stop(): retry decides
    }
    retry();
  };

  void open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    ctl?.abort();
  };
}
