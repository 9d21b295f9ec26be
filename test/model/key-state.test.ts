import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ApiKeySchema } from "../../gen/keygate/v1/key_admin_pb.js";
import { keyState, keyStatus, type KeyState, type KeyStatus } from "../../src/model/key-state.js";

/**
 * One key state for the server, the console and the CLI: the server reads it from a KeyRecord
 * (Dates), the clients from the API's ApiKey (Timestamps), and both answer in the contract's
 * order (revoked, disabled, expired) whichever of those the key is at once.
 */

const NOW = Date.UTC(2026, 0, 15, 12);
const PAST = NOW - 60_000;
const FUTURE = NOW + 60_000;

const CASES: { name: string; revoked: boolean; isActive: boolean; expiresAtMs: number | null; state: KeyState; status: KeyStatus }[] = [
  { name: "enabled, no expiry", revoked: false, isActive: true, expiresAtMs: null, state: "active", status: "valid" },
  { name: "enabled, expiry ahead", revoked: false, isActive: true, expiresAtMs: FUTURE, state: "active", status: "valid" },
  { name: "enabled, expiry now", revoked: false, isActive: true, expiresAtMs: NOW, state: "expired", status: "API_KEY_EXPIRED" },
  { name: "disabled", revoked: false, isActive: false, expiresAtMs: null, state: "disabled", status: "API_KEY_DISABLED" },
  { name: "disabled and expired", revoked: false, isActive: false, expiresAtMs: PAST, state: "disabled", status: "API_KEY_DISABLED" },
  { name: "revoked, disabled and expired", revoked: true, isActive: false, expiresAtMs: PAST, state: "revoked", status: "API_KEY_REVOKED" },
];

describe("key state", () => {
  it.each(CASES)("$name: $state, Check's $status", ({ revoked, isActive, expiresAtMs, state, status }) => {
    const record = {
      secretHash: "hash",
      previousSecret: null,
      revokedAt: revoked ? new Date(PAST) : null,
      isActive,
      expiresAt: expiresAtMs === null ? null : new Date(expiresAtMs),
    };
    const apiKey = create(ApiKeySchema, {
      isActive,
      ...(revoked && { revokedAt: timestampFromMs(PAST) }),
      ...(expiresAtMs !== null && { expiresAt: timestampFromMs(expiresAtMs) }),
    });
    expect(keyState(record, NOW)).toBe(state);
    expect(keyState(apiKey, NOW)).toBe(state);
    expect(keyStatus(record, "hash", NOW)).toBe(status);
  });

  it("a secret that is not the key's is invalid whatever the key's state", () => {
    const record = { secretHash: "hash", previousSecret: { hash: "old", expiresAt: new Date(PAST) }, revokedAt: null, isActive: false, expiresAt: null };
    expect(keyStatus(record, "old", NOW)).toBe("API_KEY_INVALID");
    expect(keyStatus(record, "other", NOW)).toBe("API_KEY_INVALID");
    expect(keyStatus({ ...record, previousSecret: { hash: "old", expiresAt: new Date(FUTURE) } }, "old", NOW)).toBe("API_KEY_DISABLED");
  });
});
