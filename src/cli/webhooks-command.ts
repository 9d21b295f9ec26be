import {
  CreateWebhookEndpointResponseSchema,
  DeleteWebhookEndpointResponseSchema,
  ListWebhookDeliveriesResponseSchema,
  ListWebhookEndpointsResponseSchema,
  RedeliverWebhookResponseSchema,
  RotateWebhookSecretResponseSchema,
  SendTestWebhookResponseSchema,
  UpdateWebhookEndpointResponseSchema,
  WebhookDeliveryStatus,
  type WebhookDelivery,
  type WebhookEndpoint,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { WEBHOOK_EVENT_TYPES, isWebhookEventType } from "../model/webhooks.js";
import * as parse from "./arguments.js";
import { UsageError, type CommandIo } from "./command.js";
import { printFields, printTable, time } from "./output.js";
import { commandGroup, type RunContext, type Subcommand } from "./remote.js";

/**
 * keygate webhooks …: the organization's webhook endpoints and their deliveries, on a running
 * server. An endpoint's address is --target, since --url is keygate's own in every remote command.
 */

/** The server's errors name the API's `url`; the user gave --target. */
const TARGET = { url: "--target" } as const;

const STATUS_NAME: Record<WebhookDeliveryStatus, string> = {
  [WebhookDeliveryStatus.UNSPECIFIED]: "-",
  [WebhookDeliveryStatus.PENDING]: "pending",
  [WebhookDeliveryStatus.DELIVERED]: "delivered",
  [WebhookDeliveryStatus.FAILED]: "failed",
};

const eventTypes = (endpoint: WebhookEndpoint) => endpoint.eventTypes.join(" ") || "all";
const state = (endpoint: WebhookEndpoint) =>
  endpoint.enabled ? "enabled" : endpoint.disabledReason ? `disabled: ${endpoint.disabledReason}` : "disabled";

function printEndpoint(io: CommandIo, endpoint: WebhookEndpoint): void {
  printFields(io, [
    ["id", endpoint.id],
    ["url", endpoint.url],
    ["event types", eventTypes(endpoint)],
    ["state", state(endpoint)],
    ["description", endpoint.description || "-"],
    ["created", time(endpoint.createdAt)],
    ["updated", time(endpoint.updatedAt)],
  ]);
}

function printDelivery(io: CommandIo, delivery: WebhookDelivery): void {
  printFields(io, [
    ["id", delivery.id],
    ["endpoint", delivery.endpointId],
    ["event", `${delivery.eventType} (webhook-id ${delivery.eventId})`],
    ["status", STATUS_NAME[delivery.status]],
    ["attempts", String(delivery.attempt)],
    ["response", delivery.responseCode > 0 ? String(delivery.responseCode) : "-"],
    ["last error", delivery.lastError || "-"],
    ["next attempt", delivery.status === WebhookDeliveryStatus.PENDING ? time(delivery.nextAttemptAt) : "-"],
    ["created", time(delivery.createdAt)],
  ]);
}

/** The signing secret's one showing, on standard output like an API key's (so it can be piped to a vault). */
function printSigningSecret(io: CommandIo, secret: string, rotated: boolean): void {
  const overlap = rotated
    ? "For 24 hours every delivery is signed with both the old and the new secret: give the new one to your receiver within that time.\n"
    : "";
  io.out(
    `\nThe signing secret, shown this once: you will not see it again. Your receiver verifies each\n` +
      `delivery's webhook-signature with it; store it in a secret manager.\n${overlap}\n  ${secret}\n\n`,
  );
}

const text = (ctx: RunContext, name: string): string | undefined => ctx.values[name] as string | undefined;
const flag = (ctx: RunContext, name: string): boolean => ctx.values[name] === true;

/** The --event values, each one of the contract's types. */
function events(ctx: RunContext): string[] {
  const values = (ctx.values["event"] as string[] | undefined) ?? [];
  for (const value of values) {
    if (!isWebhookEventType(value)) throw new UsageError(`--event must be one of ${WEBHOOK_EVENT_TYPES.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return values;
}

const EVENT_HELP = `  --event TYPE           an event type to send (repeat for more); none: every type. One of
                         ${WEBHOOK_EVENT_TYPES.join(", ")}`;

const list: Subcommand = {
  summary: "list the organization's endpoints",
  help: `Usage: keygate webhooks list

Lists the organization's webhook endpoints (never their signing secrets).`,
  async run(ctx) {
    const response = await ctx.client().listWebhookEndpoints({});
    return ctx.respond(ListWebhookEndpointsResponseSchema, response, () =>
      printTable(
        ctx.io,
        ["ID", "URL", "EVENTS", "STATE", "CREATED", "DESCRIPTION"],
        response.endpoints.map((e) => [e.id, e.url, eventTypes(e), state(e), time(e.createdAt), e.description]),
        "No endpoints: add one with keygate webhooks create --target URL.",
      ),
    );
  },
};

const createEndpoint: Subcommand = {
  summary: "add an endpoint and print its signing secret once",
  help: `Usage: keygate webhooks create --target URL [--event TYPE]... [--description TEXT]

Adds an endpoint that keygate POSTs signed events to, and prints its signing secret: the only
time it is shown.

Options:
  --target URL           where to send events: https:// on a public address
${EVENT_HELP}
  --description TEXT     what receives these events`,
  options: { target: { type: "string" }, event: { type: "string", multiple: true }, description: { type: "string" } },
  flagOfField: TARGET,
  async run(ctx) {
    const url = text(ctx, "target");
    if (!url) throw new UsageError("--target URL is required");
    const response = await ctx.client().createWebhookEndpoint({ url, eventTypes: events(ctx), description: text(ctx, "description") ?? "" });
    return ctx.respond(CreateWebhookEndpointResponseSchema, response, () => {
      printEndpoint(ctx.io, response.endpoint!);
      printSigningSecret(ctx.io, response.signingSecret, false);
    });
  },
};

const update: Subcommand = {
  summary: "change an endpoint; only what is given changes",
  help: `Usage: keygate webhooks update ENDPOINT_ID [options]

Changes only the settings given.

Options:
  --target URL           a new address to send events to
${EVENT_HELP.replace("none: every type", "replaces the types")}
  --all-events           send every event type
  --description TEXT     what receives these events
  --enable | --disable   start or stop sending to it`,
  options: {
    target: { type: "string" },
    event: { type: "string", multiple: true },
    "all-events": { type: "boolean", default: false },
    description: { type: "string" },
    enable: { type: "boolean", default: false },
    disable: { type: "boolean", default: false },
  },
  positionals: [1, 1],
  flagOfField: TARGET,
  argumentNames: ["ENDPOINT_ID"],
  async run(ctx) {
    const types = events(ctx);
    if (types.length > 0 && flag(ctx, "all-events")) throw new UsageError("--event and --all-events exclude each other");
    if (flag(ctx, "enable") && flag(ctx, "disable")) throw new UsageError("--enable and --disable exclude each other");
    const changes = {
      ...(text(ctx, "target") !== undefined && { url: text(ctx, "target")! }),
      ...((types.length > 0 || flag(ctx, "all-events")) && { eventTypes: types, setEventTypes: true }),
      ...(text(ctx, "description") !== undefined && { description: text(ctx, "description")! }),
      ...((flag(ctx, "enable") || flag(ctx, "disable")) && { enabled: flag(ctx, "enable") }),
    };
    if (Object.keys(changes).length === 0) throw new UsageError("nothing to change: give at least one option");
    const response = await ctx.client().updateWebhookEndpoint({ id: ctx.positionals[0]!, ...changes });
    return ctx.respond(UpdateWebhookEndpointResponseSchema, response, () => printEndpoint(ctx.io, response.endpoint!));
  },
};

const remove: Subcommand = {
  summary: "delete an endpoint and its undelivered events (needs --yes)",
  help: `Usage: keygate webhooks delete ENDPOINT_ID --yes

Removes the endpoint and drops its undelivered events. To pause deliveries instead:
keygate webhooks update ENDPOINT_ID --disable

Options:
  --yes                  confirm (required)`,
  options: { yes: { type: "boolean", default: false } },
  positionals: [1, 1],
  argumentNames: ["ENDPOINT_ID"],
  async run(ctx) {
    if (!flag(ctx, "yes")) throw new UsageError("deleting cannot be undone: add --yes to confirm (or --disable the endpoint instead)");
    const response = await ctx.client().deleteWebhookEndpoint({ id: ctx.positionals[0]! });
    return ctx.respond(DeleteWebhookEndpointResponseSchema, response, () => ctx.io.out(`deleted ${ctx.positionals[0]}\n`));
  },
};

const rotate: Subcommand = {
  summary: "issue a new signing secret and print it once",
  help: `Usage: keygate webhooks rotate-secret ENDPOINT_ID

Issues a new signing secret and prints it once. For 24 hours deliveries carry signatures under
both the old and the new secret, so the receiver can switch without refusing one.`,
  positionals: [1, 1],
  argumentNames: ["ENDPOINT_ID"],
  async run(ctx) {
    const response = await ctx.client().rotateWebhookSecret({ id: ctx.positionals[0]! });
    return ctx.respond(RotateWebhookSecretResponseSchema, response, () => printSigningSecret(ctx.io, response.signingSecret, true));
  },
};

const test: Subcommand = {
  summary: "queue a webhook.test event for one endpoint",
  help: `Usage: keygate webhooks test ENDPOINT_ID

Queues a webhook.test event for this endpoint alone and prints its delivery; follow it with
keygate webhooks deliveries ENDPOINT_ID.`,
  positionals: [1, 1],
  argumentNames: ["ENDPOINT_ID"],
  async run(ctx) {
    const response = await ctx.client().sendTestWebhook({ id: ctx.positionals[0]! });
    return ctx.respond(SendTestWebhookResponseSchema, response, () => printDelivery(ctx.io, response.delivery!));
  },
};

const deliveries: Subcommand = {
  summary: "an endpoint's deliveries, newest first",
  help: `Usage: keygate webhooks deliveries ENDPOINT_ID [--page-size N] [--page-token TOKEN]

Lists an endpoint's deliveries, newest first: status, attempts, the last response and error.

Options:
  --page-size N          deliveries per page, 1-100 (default 20)
  --page-token TOKEN     the page after the one that printed this token`,
  options: { "page-size": { type: "string" }, "page-token": { type: "string" } },
  positionals: [1, 1],
  argumentNames: ["ENDPOINT_ID"],
  async run(ctx) {
    const endpointId = ctx.positionals[0]!;
    const pageSize = parse.positiveInt("--page-size", text(ctx, "page-size"), 20, 100);
    const response = await ctx.client().listWebhookDeliveries({ endpointId, pageSize, pageToken: text(ctx, "page-token") ?? "" });
    return ctx.respond(ListWebhookDeliveriesResponseSchema, response, () => {
      printTable(
        ctx.io,
        // WEBHOOK-ID is what a receiver logs and dedupes on, the same for every delivery of an event.
        ["ID", "WEBHOOK-ID", "EVENT", "STATUS", "ATTEMPTS", "CODE", "CREATED", "NEXT ATTEMPT", "LAST ERROR"],
        response.deliveries.map((d) => [
          d.id,
          d.eventId,
          d.eventType,
          STATUS_NAME[d.status],
          String(d.attempt),
          d.responseCode > 0 ? String(d.responseCode) : "-",
          time(d.createdAt),
          d.status === WebhookDeliveryStatus.PENDING ? time(d.nextAttemptAt) : "-",
          d.lastError || "-",
        ]),
        `No deliveries: send a test event with keygate webhooks test ${endpointId}.`,
      );
      if (response.nextPageToken !== "") {
        ctx.io.out(`\nOlder deliveries: keygate webhooks deliveries ${endpointId} --page-token ${response.nextPageToken}\n`);
      }
    });
  },
};

const redeliver: Subcommand = {
  summary: "send a delivery's event again, with the same webhook-id",
  help: `Usage: keygate webhooks redeliver DELIVERY_ID

Queues the delivery's event again as a new delivery to the same endpoint, with the same
webhook-id.`,
  positionals: [1, 1],
  argumentNames: ["DELIVERY_ID"],
  async run(ctx) {
    const response = await ctx.client().redeliverWebhook({ deliveryId: ctx.positionals[0]! });
    return ctx.respond(RedeliverWebhookResponseSchema, response, () => printDelivery(ctx.io, response.delivery!));
  },
};

export const webhooksCommand = commandGroup("webhooks", "Manage the webhook endpoints of the admin key's organization on a running keygate.", {
  list,
  create: createEndpoint,
  update,
  delete: remove,
  "rotate-secret": rotate,
  test,
  deliveries,
  redeliver,
});
