/**
 * The device half of MQTT credentials: what a meter or concentrator (or the simulator standing in
 * for many) needs to connect, keyed by the device's own id (meterId or concentratorId).
 *
 *   { "dc-t-0001": { "username": "dc-t-0001", "password": "<secret>" }, ... }
 *
 * It holds secrets in the clear (the gateway's side holds only scrypt hashes), so it is written
 * with mode 0600 and never logged. `gridwatch credentials add-device --device-file F` writes it.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { GridwatchError } from './errors.ts';
import { ID_PATTERN } from './contracts/common.ts';
import { Validator } from './contracts/validate.ts';

export const DeviceSecret = Type.Object({ username: Type.String({ minLength: 1, maxLength: 256 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
export const DeviceSecretsFile = Type.Record(Type.String({ pattern: ID_PATTERN }), DeviceSecret);
export type DeviceSecretsFile = Static<typeof DeviceSecretsFile>;

export function readDeviceSecrets(path: string, what = '--device-credentials'): DeviceSecretsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `${what}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const result = new Validator(DeviceSecretsFile).validate(parsed);
  // Problems name paths and rules, never values: the file is full of secrets.
  if (!result.ok) throw new GridwatchError('CONFIG_INVALID', `${what}: ${path}: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return result.value;
}

/** Writes a JSON file atomically (temporary file + rename), so a watcher never reads half of it. */
export function writeJsonAtomically(path: string, value: unknown, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}
