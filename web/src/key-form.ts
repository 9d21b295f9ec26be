import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { RateLimitPeriod, type ApiKey, type Credits, type Identity, type NamedLimit, type Scope } from "../../gen/keygate/v1/key_admin_pb.js";
import { creditsChange, creditsField } from "./credits-field.js";
import { field, h, select } from "./dom.js";
import { fromLocalInput, toLocalInput } from "./format.js";
import { identityChoice } from "./identity-choice.js";
import { RATE_PERIODS, limitRows, sameLimits } from "./named-limits.js";

/** The editable settings of a key, shared by the create and edit forms. */

export interface KeySettings {
  name: string;
  description: string;
  scopes: string[];
  allowIps: string[];
  /** 0: no per-key limit. */
  rateLimit: number;
  rateLimitPeriod: RateLimitPeriod;
  expiresAt: Timestamp | undefined;
  /** Beside rate_limit, which is the limit named `default`. */
  limits: NamedLimit[];
  /** Undefined: the key spends none of its own. */
  credits: Credits | undefined;
  /** "": tied to no identity. */
  identityId: string;
}

/** The identities to choose from; undefined when they could not be read, `why` saying so. */
export interface IdentityOptions {
  identities: Identity[] | undefined;
  why: string;
}

export interface KeyForm {
  element: HTMLElement;
  read(): KeySettings;
}

/**
 * `grantable`: the scopes the signed-in key may give (GetMyLimits); scopes the key already has
 * stay listed so an edit can keep or drop them. Every control carries the server's name for its
 * field (`data-field`), so a validation error shows at it (field-problems.ts).
 */
export function keyForm(catalog: readonly Scope[], grantable: readonly string[], identities: IdentityOptions, key?: ApiKey): KeyForm {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200, value: key?.name ?? "", autocomplete: "off", "data-field": "name" });
  const description = h("textarea", { name: "description", rows: 2, maxlength: 1000, "data-field": "description" }, key?.description ?? "");
  const offered = new Set([...grantable, ...(key?.scopes ?? [])]);
  const chosen = new Set(key?.scopes ?? []);
  const boxes = catalog
    .filter((scope) => offered.has(scope.name))
    .map((scope) => {
      const box = h("input", { type: "checkbox", name: "scope", value: scope.name, checked: chosen.has(scope.name) });
      // The name and its description flow as one text, so a line breaks between words and never inside a scope's name.
      return h("label", { class: "check" }, box, h("span", null, h("code", { class: "scope" }, scope.name), scope.description && h("span", { class: "hint" }, ` ${scope.description}`)));
    });
  const scopes = h("fieldset", { class: "scopes", "data-field": "scopes" }, h("legend", null, "Scopes"), boxes.length ? boxes : h("p", null, "No scopes to grant."));
  const allowIps = h("textarea", { name: "allowIps", rows: 2, "data-field": "allow_ips", placeholder: "203.0.113.0/24\n2001:db8::/32" }, (key?.allowIps ?? []).join("\n"));
  const rateLimit = h("input", { type: "number", name: "rateLimit", min: 0, step: 1, inputmode: "numeric", value: String(key?.rateLimit ?? 0), "data-field": "rate_limit" });
  const period = select(RATE_PERIODS, String(key && key.rateLimit > 0 ? key.rateLimitPeriod : RateLimitPeriod.MINUTE), { name: "rateLimitPeriod", "data-field": "rate_limit_period" });
  const expires = h("input", { type: "datetime-local", name: "expiresAt", value: toLocalInput(key?.expiresAt), "data-field": "expires_at" });
  const identity = identityChoice(identities.identities, key?.identityId ?? "", identities.why);
  const limits = limitRows(key?.limits ?? [], "Beside the rate limit (the limit named default): each is spent by every request, e.g. 10 per second and 10,000 per day. A route may name the ones it spends.");
  const credits = creditsField(key?.credits, "This key has credits", "of its own: at zero its Checks are denied (CREDITS_EXHAUSTED). Its identity's credits apply too.");

  const element = h(
    "div",
    { class: "key-form" },
    field("Name", name),
    field("Description", description),
    scopes,
    field("Allowed IPs", allowIps, "One IP address or CIDR range per line; empty allows every address."),
    h(
      "div",
      { class: "inline" },
      field("Rate limit", rateLimit, "Requests per period; 0: the most the key's owner may have (their own cap, else the plan's)."),
      field("Period", period),
    ),
    field("Expires at (UTC)", expires, "Empty: the key does not expire."),
    identity.element,
    limits.element,
    credits.element,
  );
  return {
    element,
    read: () => ({
      name: name.value.trim(),
      description: description.value.trim(),
      scopes: [...element.querySelectorAll<HTMLInputElement>('input[name="scope"]:checked')].map((box) => box.value),
      allowIps: allowIps.value
        .split(/[\s,]+/)
        .map((ip) => ip.trim())
        .filter((ip) => ip !== ""),
      rateLimit: Math.max(0, Math.trunc(Number(rateLimit.value) || 0)),
      rateLimitPeriod: Number(period.value) as RateLimitPeriod,
      expiresAt: fromLocalInput(expires.value),
      limits: limits.read(),
      credits: credits.read(),
      identityId: identity.value(),
    }),
  };
}

/** A key's scopes as a list that wraps between scopes, never inside one; "none" for none. */
export function scopeList(scopes: readonly string[]): HTMLElement {
  if (scopes.length === 0) return h("span", { class: "hint" }, "none");
  return h("ul", { class: "scope-list" }, scopes.map((scope) => h("li", null, h("code", { class: "scope" }, scope))));
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const sameTime = (a: Timestamp | undefined, b: Timestamp | undefined) =>
  (a ? timestampDate(a).getTime() : null) === (b ? timestampDate(b).getTime() : null);

/** The UpdateKey fields that differ from the key: only those are sent. */
export function changesOf(key: ApiKey, next: KeySettings) {
  const periodChanged = next.rateLimit > 0 && next.rateLimitPeriod !== key.rateLimitPeriod;
  return {
    id: key.id,
    ...(next.name !== key.name && { name: next.name }),
    ...(next.description !== key.description && { description: next.description }),
    ...(!sameList([...next.scopes].sort(), [...key.scopes].sort()) && { scopes: { values: next.scopes } }),
    ...(!sameList(next.allowIps, key.allowIps) && { allowIps: { values: next.allowIps } }),
    ...((next.rateLimit !== key.rateLimit || periodChanged) && {
      rateLimit: next.rateLimit,
      ...(next.rateLimit > 0 && { rateLimitPeriod: next.rateLimitPeriod }),
    }),
    ...(!sameTime(next.expiresAt, key.expiresAt) && (next.expiresAt ? { expiresAt: next.expiresAt } : { clearExpiresAt: true })),
    ...(!sameLimits(next.limits, key.limits) && { limits: { values: next.limits } }),
    ...creditsChange(key.credits, next.credits),
    // An empty identity_id unties the key.
    ...(next.identityId !== key.identityId && { identityId: next.identityId }),
  };
}
