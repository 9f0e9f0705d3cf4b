import { createServer, type AddressInfo } from 'node:net';

/**
 * Distinct loopback ports the kernel says are free now (each bound to port 0, read, closed, all
 * held open together so the kernel cannot hand out one twice). For servers a test starts for
 * itself, so two runs on one machine never collide on fixed ports.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
