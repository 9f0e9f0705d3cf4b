// MQTT device credentials for the compose grid: one entry per meter of a topology file, all with
// the one device password the simulator presents (--device-auth), each with its own scrypt salt.
// Prints the credentials file (edge/ingest/auth.ts format) on stdout. Used by init-secrets.sh.
//   node --import tsx deploy/compose/device-credentials.ts TOPOLOGY PASSWORD_FILE > mqtt-credentials.json
import { readFileSync } from 'node:fs';
import { hashPassword, type CredentialsFile } from '../../edge/ingest/auth.ts';
import { parseTopology } from '../../shared/topology/index.ts';

const [topologyFile, passwordFile] = process.argv.slice(2);
if (!topologyFile || !passwordFile) {
  console.error('usage: device-credentials.ts TOPOLOGY PASSWORD_FILE');
  process.exit(64);
}
const password = readFileSync(passwordFile, 'utf8').trim();
const entries = parseTopology(readFileSync(topologyFile, 'utf8'), topologyFile.endsWith('.json') ? 'json' : 'csv');
const out: CredentialsFile = {};
for (const e of entries) out[e.meterId] = { passwordHash: await hashPassword(password), kind: 'meter', id: e.meterId };
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
