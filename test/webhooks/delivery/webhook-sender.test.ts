import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { newSigningSecret } from "../../../src/webhooks/signing-secret.js";
import { signDelivery } from "../../../src/webhooks/webhook-signature.js";
import { WebhookSender, type Resolver } from "../../../src/webhooks/webhook-sender.js";
import { hmacVerifies } from "./hmac.js";
import { answerStatus, Receiver } from "./receiver.js";

const EVENT_ID = "msg_01HZX3K4M5N6P7Q8R9S0T1V2W3";
const PAYLOAD = JSON.stringify({ type: "webhook.test", timestamp: "2026-01-15T12:00:00.000Z", data: {} });
const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

const NOT_PUBLIC = "target refused: the host name does not resolve to a public address";
const toLoopback: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];

describe("WebhookSender", () => {
  const receivers: Receiver[] = [];
  const start = async (...answers: Parameters<typeof Receiver.start>) => {
    const receiver = await Receiver.start(...answers);
    receivers.push(receiver);
    return receiver;
  };
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it("POSTs the payload as JSON with the signature, which the receiver verifies both ways", async () => {
    const receiver = await start();
    const secret = newSigningSecret();
    const headers = signDelivery(EVENT_ID, PAYLOAD, new Date(), [secret]);
    const outcome = await new WebhookSender({ allowInsecure: true }).send(receiver.url(), headers, PAYLOAD);
    expect(outcome).toEqual({ ok: true, responseCode: 200, error: "" });
    const [got] = receiver.received;
    expect(got!.method).toBe("POST");
    expect(got!.url).toBe("/hooks");
    expect(got!.body).toBe(PAYLOAD);
    expect(got!.headers["content-type"]).toBe("application/json");
    expect(got!.headers["user-agent"]).toMatch(/keygate/);
    expect(got!.headers["webhook-id"]).toBe(EVENT_ID);
    expect(new Webhook(secret).verify(got!.body, got!.headers as Record<string, string>)).toEqual(JSON.parse(PAYLOAD));
    expect(hmacVerifies(secret, got!.headers, got!.body)).toBe(true);
  });

  it("counts any 2xx as delivered", async () => {
    const receiver = await start(answerStatus(204));
    expect(await new WebhookSender({ allowInsecure: true }).send(receiver.url(), {}, PAYLOAD)).toEqual({ ok: true, responseCode: 204, error: "" });
  });

  it("keeps a short excerpt of a failing answer", async () => {
    const receiver = await start(answerStatus(503, "  down for\nmaintenance  "));
    expect(await new WebhookSender({ allowInsecure: true }).send(receiver.url(), {}, PAYLOAD)).toEqual({ ok: false, responseCode: 503, error: "down for maintenance" });
  });

  it("keeps at most 200 characters of a long answer, with no control characters", async () => {
    const hostile = `\u001b]0;owned\u0007\u001b[2J\r${"x".repeat(100)}\u202e${"é".repeat(50_000)}`;
    const receiver = await start(answerStatus(500, hostile));
    const outcome = await new WebhookSender({ allowInsecure: true }).send(receiver.url(), {}, PAYLOAD);
    expect(outcome.ok).toBe(false);
    expect(outcome.responseCode).toBe(500);
    expect([...outcome.error].length).toBeLessThanOrEqual(200);
    expect(outcome.error).not.toMatch(UNSAFE);
    expect(outcome.error).toContain("xxxx");
  });

  it("says so when a failing answer has no body", async () => {
    const receiver = await start(answerStatus(500));
    expect((await new WebhookSender({ allowInsecure: true }).send(receiver.url(), {}, PAYLOAD)).error).toBe("answered 500");
  });

  it("does not follow a redirect", async () => {
    const receiver = await start((_received, res) => res.writeHead(302, { location: "/elsewhere" }).end());
    const outcome = await new WebhookSender({ allowInsecure: true }).send(receiver.url(), {}, PAYLOAD);
    expect(outcome).toEqual({ ok: false, responseCode: 302, error: "redirect not followed (answered 302)" });
    expect(receiver.received.map((r) => r.url)).toEqual(["/hooks"]);
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    const receiver = await start(() => {
      // Never answers.
    });
    const outcome = await new WebhookSender({ allowInsecure: true, timeoutMs: 100 }).send(receiver.url(), {}, PAYLOAD);
    expect(outcome).toEqual({ ok: false, responseCode: 0, error: "timed out after 0.1 s" });
  });

  it("counts a 2xx whose body never ends as delivered, at once", async () => {
    const receiver = await start((_r, res) => {
      res.writeHead(200);
      res.write("still going");
    });
    // A deadline the test would hit, were the body waited for.
    expect(await new WebhookSender({ allowInsecure: true, timeoutMs: 60_000 }).send(receiver.url(), {}, PAYLOAD)).toEqual({ ok: true, responseCode: 200, error: "" });
  });

  it("keeps what came of a failing answer whose body never ends, at the deadline", async () => {
    const receiver = await start((_r, res) => {
      res.writeHead(502);
      res.write("upstream ");
    });
    // Long enough for the first bytes to arrive first even on a machine that is busy.
    expect(await new WebhookSender({ allowInsecure: true, timeoutMs: 2000 }).send(receiver.url(), {}, PAYLOAD)).toEqual({ ok: false, responseCode: 502, error: "upstream" });
  });

  it("reports a connection that fails", async () => {
    const receiver = await start();
    const url = receiver.url();
    await receiver.close();
    receivers.splice(0);
    const outcome = await new WebhookSender({ allowInsecure: true }).send(url, {}, PAYLOAD);
    expect(outcome.ok).toBe(false);
    expect(outcome.responseCode).toBe(0);
    expect(outcome.error).toContain("ECONNREFUSED");
  });

  describe("targets", () => {
    it("refuses a private literal address unless insecure targets are allowed, connecting nowhere", async () => {
      const receiver = await start();
      const url = `https://127.0.0.1:${receiver.port}/hooks`;
      const outcome = await new WebhookSender({ allowInsecure: false }).send(url, {}, PAYLOAD);
      expect(outcome).toEqual({ ok: false, responseCode: 0, error: expect.stringContaining("target refused: url must be on a public address") });
      expect(await new WebhookSender({ allowInsecure: false }).send(receiver.url(), {}, PAYLOAD)).toMatchObject({ ok: false, error: "target refused: url must be an https:// URL" });
      expect(receiver.connections).toBe(0);
      expect((await new WebhookSender({ allowInsecure: true }).send(receiver.url(), {}, PAYLOAD)).ok).toBe(true);
    });

    it("refuses a name resolving to a private address unless insecure targets are allowed", async () => {
      const receiver = await start();
      const asked: string[] = [];
      const resolve: Resolver = async (hostname) => {
        asked.push(hostname);
        return toLoopback(hostname);
      };
      const secure = await new WebhookSender({ allowInsecure: false, resolve }).send(`https://hooks.example.test:${receiver.port}/hooks`, {}, PAYLOAD);
      expect(secure).toEqual({ ok: false, responseCode: 0, error: NOT_PUBLIC });
      // Absolute, so no search domain of the host (svc.cluster.local) is tried.
      expect(asked).toEqual(["hooks.example.test."]);
      expect(receiver.connections).toBe(0);

      const insecure = await new WebhookSender({ allowInsecure: true, resolve }).send(`http://hooks.example.test:${receiver.port}/hooks`, {}, PAYLOAD);
      expect(insecure.ok).toBe(true);
      expect(receiver.received[0]!.headers.host).toBe(`hooks.example.test:${receiver.port}`);
    });

    it("refuses a name when any of its addresses is private", async () => {
      const receiver = await start();
      const resolve: Resolver = async () => [
        { address: "93.184.215.14", family: 4 },
        { address: "127.0.0.1", family: 4 },
      ];
      const outcome = await new WebhookSender({ allowInsecure: false, resolve }).send(`https://hooks.example.test:${receiver.port}/`, {}, PAYLOAD);
      expect(outcome.error).toBe(NOT_PUBLIC);
      expect(receiver.connections).toBe(0);
    });

    it("checks the connected address again, so a name cannot rebind after the check", async () => {
      const receiver = await start();
      // The resolver's answer passes; what is connected to no longer does (as when a name rebinds).
      const checked: string[] = [];
      const addressAllowed = (address: string) => {
        checked.push(address);
        return checked.length === 1;
      };
      const outcome = await new WebhookSender({ allowInsecure: true, resolve: toLoopback, addressAllowed }).send(`http://hooks.example.test:${receiver.port}/`, {}, PAYLOAD);
      expect(outcome).toEqual({ ok: false, responseCode: 0, error: "target refused: connected to an address that is not public" });
      expect(checked).toEqual(["127.0.0.1", "127.0.0.1"]);
      expect(receiver.received).toHaveLength(0);
    });

    it("says the same of a name that does not resolve as of one that resolves to an internal address, so tenants cannot map internal names", async () => {
      const refused = { ok: false, responseCode: 0, error: NOT_PUBLIC };
      const notFound: Resolver = () => Promise.reject(Object.assign(new Error("queryA ENOTFOUND nowhere.example.test."), { code: "ENOTFOUND" }));
      const url = "https://nowhere.example.test/";
      expect(await new WebhookSender({ allowInsecure: false, resolve: notFound }).send(url, {}, PAYLOAD)).toEqual(refused);
      expect(await new WebhookSender({ allowInsecure: false, resolve: async () => [] }).send(url, {}, PAYLOAD)).toEqual(refused);
      expect(await new WebhookSender({ allowInsecure: false, resolve: toLoopback }).send(url, {}, PAYLOAD)).toEqual(refused);
    });
  });
});
