import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A stand-in for systemd's notification socket: a unix datagram socket bound by a small python3
 * listener (node's dgram has no unix sockets). Every datagram arrives as one array of its
 * `KEY=value` lines. The listener reads with recv(), which discards ancillary data, so the fd of
 * systemd-notify's BARRIER=1 is closed at once and the barrier completes as it does under systemd.
 */
const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps(["LISTENING"]), flush=True)
while True:
    d = s.recv(65536)
    print(json.dumps(d.decode("utf-8", "replace").split("\\n")), flush=True)
`;

export interface NotifyListener {
  socketPath: string;
  /** Datagrams received so far, BARRIER=1 left out. */
  messages: string[][];
  waitFor(pred: (m: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  close(): void;
}

export async function notifyListener(): Promise<NotifyListener> {
  const socketPath = join(mkdtempSync(join(tmpdir(), 'gridwatch-notify-')), 'notify.sock');
  // A missing python3 surfaces as the child's 'error' event below.
  const child: ChildProcess = spawn('python3', ['-c', LISTENER, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: string[][] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const listening = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`the notify-socket test needs python3: ${e.message}`)));
    child.once('exit', (code) => reject(new Error(`notify listener exited ${code}: ${err}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, nl)) as string[];
        buf = buf.slice(nl + 1);
        if (m[0] === 'LISTENING') resolve();
        else if (!(m.length === 1 && m[0] === 'BARRIER=1')) messages.push(m);
        for (const w of waiters.splice(0)) w();
      }
    });
  });
  await listening;
  return {
    socketPath,
    messages,
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching notification in ${timeoutMs} ms; got ${JSON.stringify(messages)}`)), timeoutMs);
        const check = () => {
          const m = messages.find(pred);
          if (m) {
            clearTimeout(t);
            resolve(m);
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () => {
      child.kill('SIGKILL');
    },
  };
}
