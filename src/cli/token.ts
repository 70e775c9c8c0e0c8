/** `acu token create|list|revoke`: API tokens in the token store, beside a running server or not. */
import { isScope, TOKEN_ID_PATTERN, tokenBinding, UNBOUND_SCOPES, validateLabel, type Scope } from "../domain/token.ts";
import type { TokenStore } from "../ports/tokens.ts";
import { command, UsageError, type CommandLine } from "./commands.ts";

export type TokenCommand = { action: "create"; scope: Scope; label: string; patrolId?: string } | { action: "list" } | { action: "revoke"; id: string };

const token = command("token");

/** What to do, checked before the store is opened. */
export function parseTokenCommand(line: CommandLine): TokenCommand {
  const [action, id] = line.positionals;
  if (action !== "create" && action !== "list" && action !== "revoke")
    throw new UsageError(action ? `unknown token command "${action}"; create, list or revoke` : "create, list or revoke?", token);
  if (action === "create") {
    const scope = line.flags.scope;
    if (!isScope(scope))
      throw new UsageError(
        `--scope must be one of ${UNBOUND_SCOPES.join(", ")}${scope === undefined ? "" : ` (got "${String(scope)}")`}, or patrol (with --patrol ID)`,
        token,
      );
    const label = validateLabel(line.flags.label as string | undefined);
    if (!label.ok) throw new UsageError(`--label: ${label.message}`, token);
    if (id !== undefined) throw new UsageError(`create: unexpected argument "${id}"`, token);
    const bound = tokenBinding(scope, line.flags.patrol);
    if (!bound.ok) throw new UsageError(`--patrol: ${bound.message}`, token);
    return bound.patrolId === undefined ? { action, scope, label: label.value } : { action, scope, label: label.value, patrolId: bound.patrolId };
  }
  if (line.flags.scope !== undefined || line.flags.label !== undefined) throw new UsageError(`${action} takes no --scope or --label`, token);
  if (line.flags.patrol !== undefined) throw new UsageError(`${action} takes no --patrol`, token);
  if (action === "list") {
    if (id !== undefined) throw new UsageError(`list: unexpected argument "${id}"`, token);
    return { action };
  }
  if (id === undefined || !TOKEN_ID_PATTERN.test(id))
    throw new UsageError(`revoke needs a token id (see acu token list)${id === undefined ? "" : `; "${id}" is not one`}`, token);
  return { action, id };
}

/** Runs it; revoking an id no token has is a failure (exit 1). */
export async function runTokenCommand(cmd: TokenCommand, store: TokenStore, print: (line: string) => void): Promise<void> {
  if (cmd.action === "create") {
    const t = await store.create(cmd.scope, cmd.label, cmd.patrolId);
    print(JSON.stringify({ id: t.id, scope: cmd.scope, label: cmd.label, ...(cmd.patrolId ? { patrolId: cmd.patrolId } : {}), token: t.token }));
  } else if (cmd.action === "list") {
    for (const t of await store.list()) print(JSON.stringify(t));
  } else {
    if (!(await store.revoke(cmd.id))) throw new Error(`no token has the id ${cmd.id}`);
    print(JSON.stringify({ revoked: cmd.id, appliesWithinMs: store.propagationMs }));
  }
}
