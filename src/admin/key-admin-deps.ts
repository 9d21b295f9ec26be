import type { SecretEncryption } from "../crypto/secret-encryption.js";
import type { LimitPeek } from "../limits/check-limits.js";
import type { CreditLine } from "../limits/credit-lines.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { KeyEvents } from "../keys/key-events.js";
import type { Logger } from "../log/logger.js";
import type { IdentityRecord } from "../model/identities.js";
import type { KeyRecord } from "../model/records.js";
import type { ScopeDefinition } from "../model/scopes.js";
import type { SecretHasher } from "../model/secret.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import type { PageTokens } from "./page-token.js";
import type { UsageServiceDeps } from "./usage/usage-service.js";

/** What KeyAdminService's handlers (keys, users, usage) are given. */
export interface KeyAdminDeps {
  store: Store;
  hasher: SecretHasher;
  clock: Clock;
  scopes: readonly ScopeDefinition[];
  audit: AuditTrail;
  keyEvents: KeyEvents;
  pageTokens: PageTokens;
  logger: Logger;
  /** The key's and its identity's limits as its next request would find them, counting nothing (CheckLimits.peekLimits): TestKey's. */
  peekLimits: (key: KeyRecord, identity: IdentityRecord | null, nowMs: number) => LimitPeek[];
  /** What is left of a balance now, spending nothing (CheckLimits.creditsLeft): GetKey's and GetIdentity's `credits.left`. */
  creditsLeft: (line: CreditLine) => Promise<number>;
  /** What the usage RPCs read besides the store and the clock. */
  usage: Omit<UsageServiceDeps, "store" | "clock">;
  /** Seals recoverable keys' secrets; absent when the server has no KEYGATE_ENCRYPTION_KEY. */
  encryption?: SecretEncryption | undefined;
}
