// Who may do what. viewer reads the grid's state; operator may also act on it (acknowledge,
// silence: no such route yet); admin may also manage the API itself (its tokens). Each role holds
// every right of the ones below it.
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

/** True when `has` carries the rights `needs` asks for. */
export function allows(has: Role, needs: Role): boolean {
  return ROLES.indexOf(has) >= ROLES.indexOf(needs);
}

/** The highest role among claim values; null when none is a role. */
export function highestRole(values: unknown[]): Role | null {
  let best: Role | null = null;
  for (const v of values) if (isRole(v) && (best === null || allows(v, best))) best = v;
  return best;
}

/** Who made a request: an API key, an OIDC subject, or nobody when authentication is off. */
export interface Principal {
  kind: 'api-key' | 'oidc' | 'none';
  /** Token id (API key), `sub` (OIDC), or "anonymous". Safe to log: never the secret. */
  id: string;
  name: string;
  role: Role;
  /** When the credential stops being valid (an OIDC token's `exp`, ms); API keys have none (they are revoked). */
  expiresAt?: number;
}
