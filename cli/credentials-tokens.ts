/**
 * `gridwatch credentials add-token|revoke|list-tokens` (also `list --tokens`): the API keys of central's tokens file
 * (GRIDWATCH_API_TOKENS_FILE, or --file). A new token is printed once, on stdout, and only its
 * SHA-256 is stored; a running central picks the change up within a second (or on SIGHUP).
 */
import { parseArgs } from 'node:util';
import { isRole, newToken, readTokensFile, ROLES, writeTokensFile } from '../central/api/auth/index.ts';
import { GridwatchError } from '../shared/errors.ts';

export const TOKEN_USAGE = `  add-token --name NAME --role ${ROLES.join('|')} [--file FILE]
                      create an API key; the token is printed once (stdout) and stored hashed
  revoke (--id ID | --name NAME) [--file FILE]
                      remove an API key: refused by central from its next reload (about 1 s)
  list-tokens (or list --tokens) [--file FILE] [--json]
                      the API keys: id, name, role, created (never a token or a hash)

  FILE defaults to GRIDWATCH_API_TOKENS_FILE.`;

function tokensFile(file: string | undefined): string {
  const f = file ?? process.env.GRIDWATCH_API_TOKENS_FILE;
  if (!f) throw new GridwatchError('CONFIG_INVALID', '--file or GRIDWATCH_API_TOKENS_FILE: which tokens file?');
  return f;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$/;

export async function addToken(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: { name: { type: 'string' }, role: { type: 'string' }, file: { type: 'string' } }, strict: true });
  if (!v.name || !NAME.test(v.name)) throw new GridwatchError('CONFIG_INVALID', '--name: expected 1-100 characters (letters, digits, . _ @ : -), starting with a letter or digit');
  if (!isRole(v.role)) throw new GridwatchError('CONFIG_INVALID', `--role: expected one of ${ROLES.join(', ')}`);
  const file = tokensFile(v.file);
  const tokens = readTokensFile(file);
  if (tokens.some((t) => t.name === v.name)) throw new GridwatchError('CONFIG_INVALID', `--name: a token named ${v.name} exists already (revoke it first)`);
  const { token, record } = newToken(v.name, v.role);
  writeTokensFile(file, [...tokens, record]);
  process.stderr.write(`added API key ${record.id} (${record.name}, ${record.role}) to ${file}; the token is shown once:\n`);
  process.stdout.write(`${token}\n`);
  return 0;
}

export async function revokeToken(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: { id: { type: 'string' }, name: { type: 'string' }, file: { type: 'string' } }, strict: true });
  if (!v.id === !v.name) throw new GridwatchError('CONFIG_INVALID', 'give --id or --name (one of them)');
  const file = tokensFile(v.file);
  const tokens = readTokensFile(file);
  const keep = tokens.filter((t) => (v.id ? t.id !== v.id : t.name !== v.name));
  if (keep.length === tokens.length) {
    process.stderr.write(`no API key ${v.id ? `with id ${v.id}` : `named ${v.name}`} in ${file}\n`);
    return 1;
  }
  writeTokensFile(file, keep);
  process.stderr.write(`revoked ${tokens.length - keep.length} API key(s) in ${file}\n`);
  return 0;
}

export async function listTokens(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: { file: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
  const tokens = readTokensFile(tokensFile(v.file)).map(({ sha256: _, ...t }) => t);
  if (v.json) process.stdout.write(JSON.stringify(tokens, null, 2) + '\n');
  else for (const t of tokens) process.stdout.write(`${t.id}\t${t.role}\t${t.createdAt}\t${t.name}\n`);
  return 0;
}

export const TOKEN_COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { 'add-token': addToken, revoke: revokeToken, 'list-tokens': listTokens };
