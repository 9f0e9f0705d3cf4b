/* global EventSource */
// The live grid-event stream (Server-Sent Events). EventSource retries on its own, but at a fixed
// pace and without telling us when; here every failure closes it and reopens after an exponential
// backoff (1 s doubling to 30 s, with jitter so many consoles do not return in step), and the state
// is reported so the header can show it.

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

/**
 * @param {string} url
 * @param {{ onEvent: (e: any) => void, onState: (s: { state: string, attempt: number, retryAt?: number }) => void,
 *   onOpen: () => void }} handlers  onOpen runs on every (re)connection, to resynchronise the snapshot.
 * @returns {() => void} stops the stream
 */
export function connectStream(url, { onEvent, onState, onOpen }) {
  let attempt = 0;
  let source;
  let timer;
  let stopped = false;

  const deliver = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return; // a keep-alive or a malformed record: nothing to merge
    }
    onEvent(event);
  };

  const open = () => {
    onState({ state: attempt === 0 ? 'connecting' : 'reconnecting', attempt });
    source = new EventSource(url);
    source.onopen = () => {
      attempt = 0;
      onState({ state: 'live', attempt: 0 });
      onOpen();
    };
    // Unnamed messages and the named `grid-event` type both carry one v1 GridEvent each.
    source.onmessage = deliver;
    source.addEventListener('grid-event', deliver);
    source.onerror = () => {
      source.close();
      if (stopped) return;
      attempt += 1;
      const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
      onState({ state: 'reconnecting', attempt, retryAt: Date.now() + delay });
      timer = setTimeout(open, delay);
    };
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
