import { Kafka, logLevel } from "kafkajs";
import type { Logger } from "../../log.ts";
import { deadline, retry } from "../../retry.ts";
import { errorChain, saslOptions, type KafkaAuth } from "./client.ts";
import { muteTimeoutNegativeWarnings } from "./warnings.ts";

/** Kafka's GROUP_AUTHORIZATION_FAILED: the user has no ACL on the group (FindCoordinator needs Describe, a join Read). */
const GROUP_AUTHORIZATION_FAILED = 30;

/**
 * Kafka refused this process's user a consumer group: a state acu cannot reconcile, refused loudly. kafkajs
 * would only say "Failed to find group coordinator", and try again for ever.
 */
export class GroupAuthorizationError extends Error {
  constructor(
    /** The group's name on the cluster (with the namespace). */
    readonly group: string,
    /** The SASL user; null when the process has none (ACU_KAFKA_SASL_USERNAME unset). */
    readonly user: string | null,
  ) {
    super(
      `Kafka refused consumer group ${group} to ${user === null ? "this client (no SASL user: ACU_KAFKA_SASL_USERNAME is not set)" : `user ${user}`}: ` +
        `GROUP_AUTHORIZATION_FAILED; grant ${user === null ? "the role's user" : `User:${user}`} READ on group ${group} ` +
        "(see docs/operations.md#engine-users-and-their-grants)",
    );
    this.name = "GroupAuthorizationError";
  }
}

/** The broker's own GROUP_AUTHORIZATION_FAILED somewhere in e's chain (kafkajs passes it on from a join, a heartbeat, a commit, DescribeGroups). */
export function groupRefused(e: unknown): boolean {
  for (const err of errorChain(e)) if (err.code === GROUP_AUTHORIZATION_FAILED || err.type === "GROUP_AUTHORIZATION_FAILED") return true;
  return false;
}

/**
 * An error after which the group's access is worth a look: the broker's refusal, or kafkajs's "Failed to
 * find group coordinator" (KafkaJSGroupCoordinatorNotFound), which is what a refused FindCoordinator
 * becomes (kafkajs drops the broker's error) — and what coordinators that answered nothing in time become too.
 */
export function groupTrouble(e: unknown): boolean {
  if (groupRefused(e)) return true;
  for (const err of errorChain(e))
    if (err.name === "KafkaJSGroupCoordinatorNotFound" || /failed to find group coordinator/i.test(String(err.message ?? ""))) return true;
  return false;
}

export interface GroupAccessOptions {
  brokers: string[];
  clientId?: string;
  sasl?: KafkaAuth | null;
  log: Logger;
  /** Bound of one look (connecting included), ms; default 15 000. */
  probeTimeoutMs?: number;
  /** How long `admit` tries to tell before it lets the consumer start anyway, ms; default 20 000. */
  admitWithinMs?: number;
}

/**
 * Whether this process's Kafka user may use a consumer group, asked before a consumer joins it (and again
 * when a member cannot find its coordinator). A look is DescribeGroups through an admin client of its own:
 * an authorized user gets an answer, a group that does not exist yet included (state Dead); a user without
 * the group's ACL is refused either by DescribeGroups (GROUP_AUTHORIZATION_FAILED) or already by the
 * FindCoordinator before it — which kafkajs reports only as "Failed to find group coordinator", the broker's
 * error left in its debug log. That client therefore logs at debug level into `look`, which keeps the
 * errors kafkajs saw for the group: a refusal counts only when the broker said GROUP_AUTHORIZATION_FAILED
 * (code 30). Anything else (no coordinator yet, GROUP_LOAD_IN_PROGRESS, a broker restarting, time-outs) is
 * "cannot tell now", never a refusal.
 */
export class GroupAccess {
  private readonly probeTimeoutMs: number;
  private readonly admitWithinMs: number;

  constructor(private readonly o: GroupAccessOptions) {
    this.probeTimeoutMs = o.probeTimeoutMs ?? 15_000;
    this.admitWithinMs = o.admitWithinMs ?? 20_000;
  }

  /** The SASL user, null without one. */
  get user(): string | null {
    return this.o.sasl?.username ?? null;
  }

  /**
   * One look at the group (its cluster name): resolves when the user may use it, rejects with a
   * GroupAuthorizationError when Kafka refuses it, with another error when it cannot tell now.
   */
  async look(group: string): Promise<void> {
    const refused = { seen: false };
    const kafka = new Kafka({
      clientId: `${this.o.clientId ?? "acu"}-group-check`,
      brokers: this.o.brokers,
      sasl: saslOptions(this.o.sasl),
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      // Debug: where kafkajs leaves the FindCoordinator error it does not pass on ("Tried to find group
      // coordinator", { groupId, error }). Nothing of it is written anywhere; only the refusal is kept.
      // (KAFKAJS_LOG_LEVEL, when set, overrides this level: below debug, a refused FindCoordinator can then
      // not be told from an unavailable one, and is taken as "cannot tell now".)
      logLevel: logLevel.DEBUG,
      logCreator:
        () =>
        ({ log: entry }) => {
          const { groupId, error } = entry as { groupId?: unknown; error?: unknown };
          if ((groupId === undefined || groupId === group) && groupRefused(error)) refused.seen = true;
        },
    });
    const admin = kafka.admin();
    const unmute = muteTimeoutNegativeWarnings();
    const ask = (async () => {
      try {
        await admin.connect();
        await admin.describeGroups([group]);
      } finally {
        await admin.disconnect().catch(() => {});
        unmute();
      }
    })();
    try {
      await deadline(ask, this.probeTimeoutMs, `no answer about group ${group} within ${this.probeTimeoutMs} ms`);
    } catch (e) {
      if (groupRefused(e) || (refused.seen && groupTrouble(e))) throw new GroupAuthorizationError(group, this.user);
      throw e;
    }
  }

  /**
   * Before a consumer joins `group`: resolves when the user may use it, or when that cannot be told within
   * admitWithinMs (the broker restarting, no coordinator yet: looks retried with the backoff of
   * src/retry.ts), then the member's own retries go on and a later refusal is caught by the member
   * (KafkaConsumer.checkGroup). Rejects with a GroupAuthorizationError when Kafka refused it twice in a row
   * (once could be an ACL just granted that has not reached that broker yet).
   */
  async admit(group: string, signal?: AbortSignal): Promise<void> {
    let refusals = 0;
    try {
      await retry(() => this.look(group), {
        baseMs: 500,
        capMs: 5000,
        deadlineMs: this.admitWithinMs,
        signal,
        retriable: (e) => !(e instanceof GroupAuthorizationError) || ++refusals < 2,
        onRetry: (e, attempt, delayMs) =>
          this.o.log.debug(`kafka: group ${group}: access not known yet (${(e as Error).message}); looking again in ${delayMs} ms (attempt ${attempt + 1})`),
      });
    } catch (e) {
      if (e instanceof GroupAuthorizationError) throw e;
      if (signal?.aborted) return;
      this.o.log.warn(`kafka: group ${group}: cannot tell now whether this user may use it (${(e as Error).message}); its consumer starts anyway`);
    }
  }
}
