import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliAgainst } from "./in-process-cli.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { Receiver } from "../webhooks/delivery/receiver.js";

/**
 * keygate webhooks, run in process against a real server: an endpoint's whole life for scripts
 * (--json) and for people (tables), its signing secret printed once, and usage errors that name
 * the argument at fault without calling the server.
 */

let t: TestApp;
const { cli, json } = cliAgainst(() => t);
let receiver: Receiver;
let target: string;

beforeAll(async () => {
  // A receiver that accepts every delivery, for when a dispatcher sends them.
  receiver = await Receiver.start();
  target = receiver.url();
  t = await startTestApp({ env: { KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: "true" } });
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});




interface EndpointJson {
  id: string;
  url: string;
  eventTypes?: string[];
  description?: string;
  enabled?: boolean;
}

interface DeliveryJson {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
}

describe("keygate webhooks", () => {
  it("runs an endpoint's whole life, for scripts (--json) and for people (tables)", async () => {
    const created = await json<{ endpoint: EndpointJson; signingSecret: string }>([
      "webhooks", "create", "--target", target, "--event", "key.created", "--event", "key.revoked", "--description", "billing service",
    ]);
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    expect(created.endpoint).toMatchObject({ url: target, eventTypes: ["key.created", "key.revoked"], description: "billing service", enabled: true });
    const id = created.endpoint.id;

    // For a person: the secret once, with the warning that it is not shown again.
    const human = await cli(["webhooks", "create", "--target", `${target}/other`]);
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/^event types:\s+all$/m);
    expect(human.out).toMatch(/shown this once: you will not see it again[\s\S]*\n  whsec_\S+\n/);
    expect(human.out.match(/whsec_\S+/g)).toHaveLength(1);

    // The server names its field, url; the CLI's message names the flag that set it.
    for (const args of [["webhooks", "create", "--target", "ftp://example.com/hook"], ["webhooks", "update", id, "--target", "ftp://example.com/hook"]]) {
      const refused = await cli(args);
      expect(refused.code, args.join(" ")).toBe(2);
      expect(refused.err).toMatch(new RegExp(`^keygate webhooks ${args[1]}: --target: .*\\(API_KEY_FIELD_INVALID\\)\n$`));
    }

    const table = await cli(["webhooks", "list"]);
    expect(table.code).toBe(0);
    expect(table.out.split("\n")[0]).toMatch(/^ID\s+URL\s+EVENTS\s+STATE\s+CREATED\s+DESCRIPTION$/);
    const row = table.out.split("\n").find((line) => line.startsWith(id));
    expect(row).toMatch(/key\.created key\.revoked\s+enabled\s+.*billing service$/);
    expect(table.out).not.toContain(created.signingSecret);
    expect((await json<{ endpoints: EndpointJson[] }>(["webhooks", "list"])).endpoints.map((e) => e.id)).toContain(id);

    // Only what is given changes; --all-events subscribes to every type (an empty list).
    const everything = await json<{ endpoint: EndpointJson }>(["webhooks", "update", id, "--all-events"]);
    expect(everything.endpoint.eventTypes ?? []).toEqual([]);
    expect(everything.endpoint.description).toBe("billing service");
    const disabled = await json<{ endpoint: EndpointJson }>(["webhooks", "update", id, "--disable", "--description", "paused"]);
    expect(disabled.endpoint).toMatchObject({ description: "paused" });
    expect(disabled.endpoint.enabled ?? false).toBe(false);
    expect((await cli(["webhooks", "list"])).out.split("\n").find((line) => line.startsWith(id))).toMatch(/\sdisabled\s/);
    await json(["webhooks", "update", id, "--enable", "--event", "key.deleted"]);

    // A test event is queued for this endpoint and listed among its deliveries.
    const test = await json<{ delivery: DeliveryJson }>(["webhooks", "test", id]);
    expect(test.delivery).toMatchObject({ eventType: "webhook.test", endpointId: id });
    const deliveries = await json<{ deliveries: DeliveryJson[] }>(["webhooks", "deliveries", id]);
    expect(deliveries.deliveries.map((d) => d.id)).toContain(test.delivery.id);
    const listed = await cli(["webhooks", "deliveries", id]);
    expect(listed.out.split("\n")[0]).toMatch(/^ID\s+WEBHOOK-ID\s+EVENT\s+STATUS\s+ATTEMPTS\s+CODE\s+CREATED\s+NEXT ATTEMPT\s+LAST ERROR$/);
    expect(listed.out).toMatch(new RegExp(`^${test.delivery.id}\\s+${test.delivery.eventId}\\s+webhook\\.test\\s+(pending|delivered|failed)\\s`, "m"));

    // Redelivery: a new delivery of the same event, so the same webhook-id.
    const again = await json<{ delivery: DeliveryJson }>(["webhooks", "redeliver", test.delivery.id]);
    expect(again.delivery.id).not.toBe(test.delivery.id);
    expect(again.delivery.eventId).toBe(test.delivery.eventId);
    const page = await json<{ deliveries: DeliveryJson[]; nextPageToken?: string }>(["webhooks", "deliveries", id, "--page-size", "1"]);
    expect(page.deliveries).toHaveLength(1);
    expect(page.nextPageToken).toBeTruthy();
    const older = await json<{ deliveries: DeliveryJson[] }>(["webhooks", "deliveries", id, "--page-size", "1", "--page-token", page.nextPageToken!]);
    expect(older.deliveries.map((d) => d.id)).not.toContain(page.deliveries[0]!.id);

    const rotated = await cli(["webhooks", "rotate-secret", id]);
    expect(rotated.code, rotated.err).toBe(0);
    expect(rotated.out).toContain("both the old and the new secret");
    const [newSecret] = rotated.out.match(/whsec_\S+/g)!;
    expect(newSecret).not.toBe(created.signingSecret);

    expect((await cli(["webhooks", "delete", id])).code).toBe(2);
    const deleted = await cli(["webhooks", "delete", id, "--yes"]);
    expect(deleted.code, deleted.err).toBe(0);
    expect((await json<{ endpoints: EndpointJson[] }>(["webhooks", "list"])).endpoints.map((e) => e.id)).not.toContain(id);
    expect((await cli(["webhooks", "deliveries", id])).code).toBe(3);
    for (const run of [table, listed, rotated]) expect(run.out).not.toContain(t.admin.secret);
  });

  it("reports another organization's endpoint as not found (exit 3)", async () => {
    const other = await t.anotherOrganization();
    const { endpoint } = await t.clientFor(other.secret).createWebhookEndpoint({ url: target });
    for (const args of [
      ["webhooks", "update", endpoint!.id, "--disable"],
      ["webhooks", "test", endpoint!.id],
      ["webhooks", "deliveries", endpoint!.id],
      ["webhooks", "rotate-secret", endpoint!.id],
      ["webhooks", "delete", endpoint!.id, "--yes"],
    ]) {
      const run = await cli(args);
      expect(run.code, `${args.join(" ")}: ${run.err}`).toBe(3);
    }
    expect((await t.clientFor(other.secret).listWebhookEndpoints({})).endpoints[0]).toMatchObject({ id: endpoint!.id, enabled: true });
  });

  it("names the argument at fault in usage errors, without calling the server (exit 2)", async () => {
    // Nothing listens here: a command that called the server would exit 1.
    const offline = { env: { KEYGATE_URL: "http://127.0.0.1:9" } };
    for (const [args, says] of [
      [["webhooks"], "Usage: keygate webhooks <command>"],
      [["webhooks", "nope"], 'unknown command "nope"'],
      [["webhooks", "create"], "--target URL is required"],
      [["webhooks", "create", "--target", "https://example.com", "--event", "key.made"], '--event must be one of key.created'],
      [["webhooks", "create", "--target", "https://example.com", "--colour", "red"], "--colour"],
      [["webhooks", "update", "whe_x"], "nothing to change"],
      [["webhooks", "update", "whe_x", "--event", "key.created", "--all-events"], "--event and --all-events exclude each other"],
      [["webhooks", "update", "whe_x", "--enable", "--disable"], "--enable and --disable exclude each other"],
      [["webhooks", "update"], "ENDPOINT_ID is missing"],
      [["webhooks", "delete", "whe_x"], "add --yes to confirm"],
      [["webhooks", "rotate-secret"], "ENDPOINT_ID is missing"],
      [["webhooks", "test", "whe_x", "whe_y"], 'unexpected argument "whe_y"'],
      [["webhooks", "deliveries"], "ENDPOINT_ID is missing"],
      [["webhooks", "deliveries", "whe_x", "--page-size", "101"], '--page-size must be a whole number from 1 to 100; got "101"'],
      [["webhooks", "redeliver"], "DELIVERY_ID is missing"],
    ] as const) {
      const run = await cli([...args], offline);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.err, args.join(" ")).toContain(says);
    }
  });

  it("answers --help on every subcommand, and the top-level help lists webhooks", async () => {
    const top = await cli(["--help"]);
    expect(top.out).toMatch(/^ {2}webhooks\s+webhook endpoints/m);
    for (const sub of ["", "list", "create", "update", "delete", "rotate-secret", "test", "deliveries", "redeliver"]) {
      const run = await cli(["webhooks", ...(sub ? [sub] : []), "--help"]);
      expect(run.code, sub).toBe(0);
      expect(run.out, sub).toMatch(/^Usage: keygate webhooks/);
      expect(run.out, sub).toContain("Exit codes");
    }
  });
});
