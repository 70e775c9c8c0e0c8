import type { Principal, Scope, TokenRecord } from "../domain/token.ts";

/** A token as listed: everything but the secret (which is not kept anywhere). */
export interface TokenInfo {
  id: string;
  scope: Scope;
  label: string;
  createdAt: string;
  /** Only on `patrol` tokens: the patrol it acts for. */
  patrolId?: string;
}

/** A record as listed: without its digest; `patrolId` only on patrol tokens. */
export function tokenInfo({ id, scope, label, createdAt, patrolId }: TokenRecord): TokenInfo {
  return patrolId === undefined ? { id, scope, label, createdAt } : { id, scope, label, createdAt, patrolId };
}

/**
 * API tokens created at run time (`acu token create`, demo mode), kept as SHA-256 digests only. Shared by
 * every process of a deployment: a token created or revoked through one is honoured by all of them, within
 * the bound the adapter documents (`propagationMs`).
 */
export interface TokenStore {
  readonly engine: string;
  /** Longest time, in normal operation, before a creation or revocation made elsewhere applies to verify(). */
  readonly propagationMs: number;
  /**
   * A new random token of that scope; the secret is returned once and never stored. A `patrol` token is
   * bound to `patrolId` (required for it, refused for other scopes: rejects, see tokenBinding).
   */
  create(scope: Scope, label?: string, patrolId?: string): Promise<{ id: string; token: string }>;
  /** Removes a token; false when no token has that id. */
  revoke(id: string): Promise<boolean>;
  /** Every token, without secrets, oldest first. */
  list(): Promise<TokenInfo[]>;
  /**
   * The token's id and scope, or null. Answered from memory (it runs on every request), comparing digests
   * in constant time.
   */
  verify(token: string): Principal | null;
  /**
   * Resolves when the engine answers now, cheaply; rejects, saying why, when it does not. Polled for
   * readiness (/readyz), each call bounded by the caller's timeout.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
