/**
 * `gridwatch credentials <subcommand>`: a credentials tool like mosquitto_passwd. This file only
 * dispatches; the API-key subcommands are in credentials-tokens.ts (the MQTT device ones join
 * them from their own module).
 */
import { TOKEN_COMMANDS, TOKEN_USAGE } from './credentials-tokens.ts';

const USAGE = `usage: gridwatch credentials <subcommand> [options]

API keys of central (GRIDWATCH_API_TOKENS_FILE):
${TOKEN_USAGE}`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { ...TOKEN_COMMANDS };

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  const command = COMMANDS[sub];
  if (!command) {
    console.error(`gridwatch credentials: unknown subcommand "${sub}"\n\n${USAGE}`);
    return 2;
  }
  return command(rest);
}
