import type { KeyRecord } from "../model/records.js";

/**
 * A key that works right now and holds the scope: not revoked, enabled, not expired at `at`. What
 * `revokeUnlessLastHolder` keeps at least one of (an organization's operator keys).
 */
export const isUsableHolder = (key: Pick<KeyRecord, "scopes" | "revokedAt" | "isActive" | "expiresAt">, scope: string, at: Date): boolean =>
  key.scopes.includes(scope) && key.revokedAt === null && key.isActive && (key.expiresAt === null || key.expiresAt.getTime() > at.getTime());
