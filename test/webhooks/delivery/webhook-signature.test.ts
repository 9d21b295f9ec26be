import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { SigningSecretSealing } from "../../../src/crypto/signing-secret-sealing.js";
import type { WebhookEndpointRecord } from "../../../src/model/webhooks.js";
import { newSigningSecret } from "../../../src/webhooks/signing-secret.js";
import { signDelivery, signingSecrets } from "../../../src/webhooks/webhook-signature.js";
import { hmacVerifies } from "./hmac.js";

const EVENT_ID = "msg_01HZX3K4M5N6P7Q8R9S0T1V2W3";
const PAYLOAD = JSON.stringify({ type: "key.revoked", timestamp: "2026-01-15T12:00:00.000Z", data: { key: { id: "key_1", name: "ünïcode ✓" } } });
const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";

describe("signDelivery", () => {
  // standardwebhooks' verify compares the timestamp with the real clock, so these sign "now".
  const now = new Date();

  it("makes headers that standardwebhooks verifies and an independent HMAC agrees with", () => {
    const secret = newSigningSecret();
    const headers = signDelivery(EVENT_ID, PAYLOAD, now, [secret]);
    expect(headers["webhook-id"]).toBe(EVENT_ID);
    expect(headers["webhook-timestamp"]).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(PAYLOAD, { ...headers })).toEqual(JSON.parse(PAYLOAD));
    expect(hmacVerifies(secret, { ...headers }, PAYLOAD)).toBe(true);
  });

  it("is refused for another secret, another body or another id", () => {
    const secret = newSigningSecret();
    const headers = signDelivery(EVENT_ID, PAYLOAD, now, [secret]);
    expect(() => new Webhook(newSigningSecret()).verify(PAYLOAD, { ...headers })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(`${PAYLOAD} `, { ...headers })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(PAYLOAD, { ...headers, "webhook-id": `${EVENT_ID}X` })).toThrow(WebhookVerificationError);
    expect(hmacVerifies(newSigningSecret(), { ...headers }, PAYLOAD)).toBe(false);
  });

  it("signs with both secrets during a rotation, each verifying on its own", () => {
    const current = newSigningSecret();
    const previous = newSigningSecret();
    const headers = signDelivery(EVENT_ID, PAYLOAD, now, [current, previous]);
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    for (const secret of [current, previous]) {
      expect(new Webhook(secret).verify(PAYLOAD, { ...headers })).toEqual(JSON.parse(PAYLOAD));
      expect(hmacVerifies(secret, { ...headers }, PAYLOAD)).toBe(true);
    }
  });

  it("never holds a secret in what it sends", () => {
    const secret = newSigningSecret();
    const sent = JSON.stringify(signDelivery(EVENT_ID, PAYLOAD, now, [secret]));
    expect(sent).not.toContain(secret.slice("whsec_".length));
  });
});

describe("signingSecrets", () => {
  const sealing = new SigningSecretSealing(PEPPER);
  const now = new Date(Date.UTC(2026, 0, 15, 12));
  const current = newSigningSecret();
  const previous = newSigningSecret();
  const endpoint = (previousExpiresAt?: Date): WebhookEndpointRecord => ({
    id: "whe_01HZX3K4M5N6P7Q8R9S0T1V2W3",
    organizationId: "org_1",
    url: "https://hooks.example.com/",
    eventTypes: [],
    description: "",
    enabled: true,
    disabledReason: "",
    secret: sealing.seal(current, "whe_01HZX3K4M5N6P7Q8R9S0T1V2W3"),
    ...(previousExpiresAt && { previousSecret: { secret: sealing.seal(previous, "whe_01HZX3K4M5N6P7Q8R9S0T1V2W3"), expiresAt: previousExpiresAt } }),
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  });

  it("is the current secret alone outside a rotation", () => {
    expect(signingSecrets(endpoint(), sealing, now)).toEqual([current]);
  });

  it("adds the previous secret until it expires, and drops it from then on", () => {
    expect(signingSecrets(endpoint(new Date(now.getTime() + 1)), sealing, now)).toEqual([current, previous]);
    expect(signingSecrets(endpoint(now), sealing, now)).toEqual([current]);
  });
});
