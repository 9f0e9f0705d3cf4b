/**
 * `gridwatch credentials add-device | remove | list`: the MQTT credentials file of an edge
 * gateway (GRIDWATCH_MQTT_CREDENTIALS), like mosquitto_passwd. The file holds only scrypt hashes;
 * a generated password is printed once (or written to the device half, `--device-file`, mode
 * 0600) and never stored in the clear on the gateway's side. Every write is atomic (temporary
 * file + rename), so a running gateway's watcher sees the old file or the new one, never half.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { GENERATED_SECRET_SCRYPT, hashPassword, loadCredentialsFile, type Credential, type CredentialsFile } from '../edge/ingest/auth.ts';
import { GridwatchError } from '../shared/errors.ts';
import { readDeviceSecrets, writeJsonAtomically, type DeviceSecretsFile } from '../shared/device-secrets.ts';

export const DEVICE_HELP = `device credentials (the edge's MQTT credentials file; --file or GRIDWATCH_MQTT_CREDENTIALS):
  add-device USER --kind meter|concentrator|operator --id ID [--meters M1,M2,...]
             [--password-stdin | --client-cert-only] [--client-cert] [--replace] [--device-file F]
      Adds (or with --replace, replaces) USER. Without --password-stdin a random password is
      generated and printed once (or stored in --device-file, the device side, mode 0600).
      --client-cert: the device may also authenticate with a TLS client certificate whose CN is USER;
      --client-cert-only: certificate only, no password at all.
  remove USER [--device-file F]     removes USER (a running gateway disconnects it at once)
  list                              user, kind, id, how it authenticates (never a hash)`;

/** A fresh device secret: 128 random bits, URL-safe (fits in any MQTT client's config). */
export function generateSecret(): string {
  return randomBytes(16).toString('base64url');
}

export function readCredentials(file: string): CredentialsFile {
  return existsSync(file) ? loadCredentialsFile(file) : {};
}

export interface DeviceSpec {
  username: string;
  kind: Credential['kind'];
  id: string;
  meters?: string[];
  /** undefined: generate one (cheap scrypt, see GENERATED_SECRET_SCRYPT); null: certificate only. */
  password?: string | null;
  clientCert?: boolean;
}

/**
 * Adds devices to a credentials file (and their secrets to a device file). Returns the secrets
 * generated, by username. Refuses an existing user unless `replace` (a rotation).
 */
export async function addDevices(file: string, specs: readonly DeviceSpec[], o: { replace?: boolean; deviceFile?: string } = {}): Promise<Record<string, string>> {
  const creds = readCredentials(file);
  const device: DeviceSecretsFile = o.deviceFile && existsSync(o.deviceFile) ? readDeviceSecrets(o.deviceFile, '--device-file') : {};
  const generated: Record<string, string> = {};
  for (const s of specs) {
    if (Object.hasOwn(creds, s.username) && !o.replace) throw new GridwatchError('CONFIG_INVALID', `${file}: user ${JSON.stringify(s.username)} exists (use --replace to rotate it)`);
    if (s.password === null && !s.clientCert) throw new GridwatchError('CONFIG_INVALID', `user ${JSON.stringify(s.username)}: certificate only needs --client-cert`);
    let passwordHash: string | undefined;
    if (s.password === undefined) {
      const secret = generateSecret();
      generated[s.username] = secret;
      passwordHash = await hashPassword(secret, GENERATED_SECRET_SCRYPT);
      device[s.id] = { username: s.username, password: secret };
    } else if (s.password !== null) {
      // Chosen by a person: the full cost (hashPassword's default).
      passwordHash = await hashPassword(s.password);
      device[s.id] = { username: s.username, password: s.password };
    }
    creds[s.username] = { ...(passwordHash ? { passwordHash } : {}), kind: s.kind, id: s.id, ...(s.meters ? { meters: s.meters } : {}), ...(s.clientCert ? { clientCert: true } : {}) };
  }
  writeCredentials(file, creds);
  if (o.deviceFile) writeJsonAtomically(o.deviceFile, device);
  return generated;
}

export function removeDevice(file: string, username: string, o: { deviceFile?: string } = {}): boolean {
  const creds = readCredentials(file);
  if (!Object.hasOwn(creds, username)) return false;
  const { id } = creds[username]!;
  delete creds[username];
  writeCredentials(file, creds);
  if (o.deviceFile && existsSync(o.deviceFile)) {
    const device = readDeviceSecrets(o.deviceFile, '--device-file');
    if (device[id]?.username === username) {
      delete device[id];
      writeJsonAtomically(o.deviceFile, device);
    }
  }
  return true;
}

export function listDevices(file: string): { username: string; kind: string; id: string; auth: string; meters: number | null }[] {
  return Object.entries(readCredentials(file)).map(([username, c]) => ({
    username,
    kind: c.kind,
    id: c.id,
    auth: [c.passwordHash ? 'password' : null, c.clientCert ? 'certificate' : null].filter(Boolean).join('+'),
    meters: c.meters?.length ?? null,
  }));
}

function writeCredentials(file: string, creds: CredentialsFile): void {
  writeJsonAtomically(file, creds);
  // Read back through the gateway's own loader: the tool never leaves a file the gateway refuses.
  loadCredentialsFile(file);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const OPTIONS = {
  file: { type: 'string' },
  kind: { type: 'string' },
  id: { type: 'string' },
  meters: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  'client-cert': { type: 'boolean' },
  'client-cert-only': { type: 'boolean' },
  replace: { type: 'boolean' },
  'device-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const file = values.file ?? process.env.GRIDWATCH_MQTT_CREDENTIALS;
  if (!file) throw new GridwatchError('CONFIG_INVALID', 'credentials: --file FILE (or GRIDWATCH_MQTT_CREDENTIALS) is required');
  return { v: values, positionals, file };
}

const KINDS = ['meter', 'concentrator', 'operator'] as const;

/** Handlers by subcommand; each returns the exit code. */
export const deviceCommands: Record<string, (argv: string[]) => Promise<number>> = {
  async 'add-device'(argv) {
    const { v, positionals, file } = parse(argv);
    const [username] = positionals;
    if (!username || positionals.length !== 1) throw new GridwatchError('CONFIG_INVALID', 'add-device: exactly one USER');
    const kind = v.kind as Credential['kind'];
    if (!KINDS.includes(kind)) throw new GridwatchError('CONFIG_INVALID', `add-device: --kind ${KINDS.join('|')}`);
    if (!v.id) throw new GridwatchError('CONFIG_INVALID', 'add-device: --id (the meterId, concentratorId or operator name)');
    const password = v['client-cert-only'] ? null : v['password-stdin'] ? await readStdin() : undefined;
    if (password === '') throw new GridwatchError('CONFIG_INVALID', 'add-device: empty password on stdin');
    const spec: DeviceSpec = { username, kind, id: v.id, password, clientCert: !!(v['client-cert'] || v['client-cert-only']), ...(v.meters ? { meters: v.meters.split(',').filter(Boolean) } : {}) };
    const generated = await addDevices(file, [spec], { replace: !!v.replace, ...(v['device-file'] ? { deviceFile: v['device-file'] } : {}) });
    const secret = generated[username];
    if (secret !== undefined && !v['device-file']) {
      // Shown once: the gateway keeps only the hash.
      console.log(secret);
      console.error(`${username}: added to ${file}; the password above is shown only once`);
    } else console.error(`${username}: added to ${file}${v['device-file'] ? ` (device secret in ${v['device-file']})` : ''}`);
    return 0;
  },
  async remove(argv) {
    const { v, positionals, file } = parse(argv);
    if (positionals.length !== 1) throw new GridwatchError('CONFIG_INVALID', 'remove: exactly one USER');
    const removed = removeDevice(file, positionals[0]!, v['device-file'] ? { deviceFile: v['device-file'] } : {});
    console.error(removed ? `${positionals[0]}: removed from ${file}` : `${positionals[0]}: not in ${file}`);
    return removed ? 0 : 1;
  },
  list(argv) {
    const { v, file } = parse(argv);
    const rows = listDevices(file);
    if (v.json) console.log(JSON.stringify(rows));
    else for (const r of rows) console.log([r.username, r.kind, r.id, r.auth, r.meters === null ? '' : `${r.meters} meters`].join('\t').trimEnd());
    return Promise.resolve(0);
  },
};

