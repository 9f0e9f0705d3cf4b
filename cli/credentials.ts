/**
 * `gridwatch credentials <subcommand>`: dispatches to the device credentials (MQTT, the edge:
 * cli/credentials-devices.ts) and, when present, the API tokens (central). Only dispatch here.
 */
import { DEVICE_HELP, deviceCommands } from './credentials-devices.ts';

const HELP = `usage: gridwatch credentials <subcommand> [options]

${DEVICE_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const handler = Object.hasOwn(deviceCommands, sub) ? deviceCommands[sub] : undefined;
  if (!handler) {
    console.error(`gridwatch credentials: unknown subcommand "${sub}"\n\n${HELP}`);
    return 2;
  }
  return handler(rest);
}
