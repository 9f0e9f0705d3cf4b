/**
 * `gridwatch credentials <subcommand>`: dispatches to the device credentials (MQTT, the edge:
 * cli/credentials-devices.ts) and the API tokens (central: cli/credentials-tokens.ts). Only
 * dispatch here. `list` is the devices' (`list --tokens` or `list-tokens`: the API keys).
 */
import { DEVICE_HELP, deviceCommands } from './credentials-devices.ts';
import { TOKEN_COMMANDS, TOKEN_USAGE } from './credentials-tokens.ts';

const HELP = `usage: gridwatch credentials <subcommand> [options]

${DEVICE_HELP}

API keys of central (GRIDWATCH_API_TOKENS_FILE):
${TOKEN_USAGE}`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { ...deviceCommands, ...TOKEN_COMMANDS };

export async function run(argv: string[]): Promise<number> {
  let [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'list' && rest.includes('--tokens')) {
    sub = 'list-tokens';
    rest = rest.filter((a) => a !== '--tokens');
  }
  const handler = Object.hasOwn(COMMANDS, sub) ? COMMANDS[sub] : undefined;
  if (!handler) {
    console.error(`gridwatch credentials: unknown subcommand "${sub}"\n\n${HELP}`);
    return 2;
  }
  return handler(rest);
}
