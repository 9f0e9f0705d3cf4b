// A small client of toxiproxy's HTTP API (v2: /proxies, /proxies/{name}/toxics), which the harness
// provides (deploy/services/toxiproxy.ts, GRIDWATCH_TOXIPROXY_URL). No stubs: every call goes to the
// real server, and a refused call throws with toxiproxy's own answer.

export type ToxicType = 'latency' | 'bandwidth' | 'timeout' | 'reset_peer' | 'slow_close' | 'limit_data' | 'slicer';

export interface Toxic {
  name: string;
  type: ToxicType;
  stream: 'upstream' | 'downstream';
  toxicity?: number;
  /** latency: { latency, jitter } ms; bandwidth: { rate } KB/s; timeout / reset_peer: { timeout } ms (timeout 0: never). */
  attributes: Record<string, number>;
}

export function toxiproxyUrl(): string {
  const url = process.env.GRIDWATCH_TOXIPROXY_URL;
  if (!url) throw new Error('GRIDWATCH_TOXIPROXY_URL is not set: the harness (test/harness/global-setup.ts) provides toxiproxy');
  return url;
}

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${toxiproxyUrl()}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${text}`);
  return text === '' ? null : (JSON.parse(text) as unknown);
}

/** One proxy: `listen` (host:port) forwards to `upstream`; toxics change what passes. */
export class ToxiProxy {
  private constructor(readonly name: string, readonly listen: string, readonly upstream: string) {}

  /** Creates the proxy, replacing one of the same name left by an earlier run. */
  static async create(name: string, listen: string, upstream: string): Promise<ToxiProxy> {
    await call('DELETE', `/proxies/${name}`).catch(() => undefined);
    await call('POST', '/proxies', { name, listen, upstream, enabled: true });
    return new ToxiProxy(name, listen, upstream);
  }

  addToxic(t: Toxic): Promise<unknown> {
    return call('POST', `/proxies/${this.name}/toxics`, { toxicity: 1, ...t });
  }

  removeToxic(name: string): Promise<unknown> {
    return call('DELETE', `/proxies/${this.name}/toxics/${name}`);
  }

  async toxics(): Promise<Toxic[]> {
    return (await call('GET', `/proxies/${this.name}/toxics`)) as Toxic[];
  }

  /** Removes every toxic and enables the proxy: a clean link again. */
  async heal(): Promise<void> {
    for (const t of await this.toxics()) await this.removeToxic(t.name);
    await this.setEnabled(true);
  }

  /** Disabled, toxiproxy closes every connection and refuses new ones (the "reset" cut). */
  setEnabled(enabled: boolean): Promise<unknown> {
    return call('POST', `/proxies/${this.name}`, { enabled });
  }

  delete(): Promise<unknown> {
    return call('DELETE', `/proxies/${this.name}`);
  }
}
