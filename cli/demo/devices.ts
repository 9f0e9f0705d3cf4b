/**
 * Per-device MQTT credentials for the demo: the demo runs with anonymous access off, as a real
 * substation would. Each edge gets a credentials file with only its own substation's data
 * concentrators (each limited to the meters under it), and the simulator gets the device half
 * (every concentrator's own user name and generated password), both written by the same code as
 * `gridwatch credentials add-device`.
 */
import { join } from 'node:path';
import type { TopologyEntry } from '../../shared/contracts/index.ts';
import { concentratorOf } from '../../simulator/topology.ts';
import { addDevices, type DeviceSpec } from '../credentials-devices.ts';

export interface DemoDevices {
  /** substationId -> the edge's GRIDWATCH_MQTT_CREDENTIALS file. */
  credentialsFile: Map<string, string>;
  /** The simulator's --device-credentials file. */
  deviceFile: string;
}

export async function provisionDemoDevices(dir: string, topology: readonly Pick<TopologyEntry, 'meterId' | 'substationId' | 'transformerId'>[]): Promise<DemoDevices> {
  const bySubstation = new Map<string, Map<string, string[]>>();
  for (const e of topology) {
    const concentrators = bySubstation.get(e.substationId) ?? new Map<string, string[]>();
    bySubstation.set(e.substationId, concentrators);
    const dc = concentratorOf(e);
    concentrators.set(dc, [...(concentrators.get(dc) ?? []), e.meterId]);
  }
  const deviceFile = join(dir, 'device-credentials.json');
  const credentialsFile = new Map<string, string>();
  for (const [substationId, concentrators] of [...bySubstation].sort(([a], [b]) => a.localeCompare(b))) {
    const file = join(dir, `mqtt-credentials-${substationId}.json`);
    const specs: DeviceSpec[] = [...concentrators].map(([id, meters]) => ({ username: id, kind: 'concentrator', id, meters }));
    await addDevices(file, specs, { deviceFile, replace: true });
    credentialsFile.set(substationId, file);
  }
  return { credentialsFile, deviceFile };
}
