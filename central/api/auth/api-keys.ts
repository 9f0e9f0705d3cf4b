// API keys: `gw_<id>_<secret>`, 12 hex characters of id (the lookup key, safe to log) and 32 random
// bytes of secret. The tokens file keeps only the SHA-256 of each token: a token is 256 bits of
// randomness, so a slow password hash adds nothing against guessing, and a stolen file gives no
// usable token. The file is JSON, written whole to a temporary file and renamed (mode 0600), so a
// reader never sees half a file.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { GridwatchError } from '../../../shared/index.ts';
import { ROLES, type Role } from './roles.ts';

export const TOKEN_PATTERN = /^gw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const StoredToken = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{12}$' }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    createdAt: Type.String(),
  },
  { additionalProperties: false },
);
const TokensFile = Type.Object({ version: Type.Literal(1), tokens: Type.Array(StoredToken) }, { additionalProperties: false });
export type StoredToken = Static<typeof StoredToken>;
const checkFile = TypeCompiler.Compile(TokensFile);

const sha256 = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new token and the record that stores it. The token itself is shown once and never stored. */
export function newToken(name: string, role: Role, now = new Date()): { token: string; record: StoredToken } {
  const id = randomBytes(6).toString('hex');
  const token = `gw_${id}_${randomBytes(32).toString('base64url')}`;
  return { token, record: { id, name, role, sha256: sha256(token), createdAt: now.toISOString() } };
}

/** Reads a tokens file; a missing file is an empty set, anything unreadable or malformed throws. */
export function readTokensFile(path: string): StoredToken[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new GridwatchError('CONFIG_INVALID', `tokens file ${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `tokens file ${path}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!checkFile.Check(parsed)) {
    const e = checkFile.Errors(parsed).First();
    throw new GridwatchError('CONFIG_INVALID', `tokens file ${path}: ${e?.path || '/'} ${e?.message ?? 'invalid'}`);
  }
  const ids = new Set<string>();
  for (const t of parsed.tokens) {
    if (ids.has(t.id)) throw new GridwatchError('CONFIG_INVALID', `tokens file ${path}: token id ${t.id} appears twice`);
    ids.add(t.id);
  }
  return parsed.tokens;
}

export function writeTokensFile(path: string, tokens: StoredToken[]): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, tokens }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The keys of one tokens file, looked up by id and compared in constant time. */
export class ApiKeys {
  private byId = new Map<string, StoredToken>();

  constructor(tokens: StoredToken[] = []) {
    this.replace(tokens);
  }

  replace(tokens: StoredToken[]): void {
    this.byId = new Map(tokens.map((t) => [t.id, t]));
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  list(): Omit<StoredToken, 'sha256'>[] {
    return [...this.byId.values()].map(({ sha256: _, ...rest }) => rest);
  }

  /** The stored record of a presented token, or null (unknown id, wrong secret, not a key). */
  verify(token: string): StoredToken | null {
    const m = TOKEN_PATTERN.exec(token);
    if (!m) return null;
    const stored = this.byId.get(m[1]!);
    if (!stored) return null;
    const a = Buffer.from(sha256(token), 'hex');
    const b = Buffer.from(stored.sha256, 'hex');
    return timingSafeEqual(a, b) ? stored : null;
  }
}
