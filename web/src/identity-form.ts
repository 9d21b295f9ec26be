import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateIdentityRequestSchema, Credits, Identity, NamedLimit, UpdateIdentityRequestSchema } from "../../gen/keygate/v1/key_admin_pb.js";
import { creditsChange, creditsField } from "./credits-field.js";
import { field, h } from "./dom.js";
import { limitRows, sameLimits } from "./named-limits.js";
import { rowList } from "./row-list.js";

/** The editable settings of an identity, shared by the create and edit dialogs. */

export interface IdentitySettings {
  externalId: string;
  name: string;
  meta: Record<string, string>;
  limits: NamedLimit[];
  /** Undefined: none. */
  credits: Credits | undefined;
}

export interface IdentityForm {
  element: HTMLElement;
  read(): IdentitySettings;
}

/** The server's bound on meta entries. */
const MAX_META = 32;

export function identityForm(identity?: Identity): IdentityForm {
  const externalId = h("input", { type: "text", name: "externalId", required: true, maxlength: 256, autocomplete: "off", spellcheck: "false", "data-field": "external_id", value: identity?.externalId ?? "" });
  const name = h("input", { type: "text", name: "name", maxlength: 256, autocomplete: "off", "data-field": "name", value: identity?.name ?? "" });
  const meta = rowList<[string, string]>({
    legend: "Meta",
    field: "meta",
    hint: "Your own facts about this customer (plan, region, CRM id), returned with it; keygate does not act on them.",
    noun: "meta entry",
    max: MAX_META,
    initial: Object.entries(identity?.meta ?? {}),
    row: (value) => {
      const key = h("input", { type: "text", name: "metaKey", maxlength: 64, autocomplete: "off", spellcheck: "false", value: value?.[0] ?? "" });
      const text = h("input", { type: "text", name: "metaValue", maxlength: 1024, autocomplete: "off", value: value?.[1] ?? "" });
      return {
        cells: [field("Meta key", key), field("Meta value", text)],
        // The server names a meta entry by its key (`meta["plan"]`): its errors show at the meta rows.
        controls: {},
        read: () => (key.value.trim() === "" && text.value === "" ? undefined : [key.value.trim(), text.value]),
      };
    },
  });
  const limits = limitRows(identity?.limits ?? [], "Shared by every key tied to this identity, across replicas: 10 per second and 10,000 per day on all of a customer's keys together.");
  const credits = creditsField(identity?.credits, "This identity has credits", "shared by all its keys: at zero their Checks are denied (CREDITS_EXHAUSTED).");

  const element = h(
    "div",
    { class: "identity-form" },
    field("External id", externalId, "Your own id for this customer (e.g. from your billing system); unique in your organization."),
    field("Name", name, "Optional: how your team knows this customer."),
    meta.element,
    limits.element,
    credits.element,
  );
  return {
    element,
    read: () => ({
      externalId: externalId.value.trim(),
      name: name.value.trim(),
      meta: Object.fromEntries(meta.read()),
      limits: limits.read(),
      credits: credits.read(),
    }),
  };
}

const sameMeta = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([key, value]) => b[key] === value);

/** The UpdateIdentity fields that differ from the identity: only those are sent. */
export function identityChanges(identity: Identity, next: IdentitySettings): MessageInitShape<typeof UpdateIdentityRequestSchema> {
  return {
    id: identity.id,
    ...(next.externalId !== identity.externalId && { externalId: next.externalId }),
    ...(next.name !== identity.name && { name: next.name }),
    ...(!sameMeta(next.meta, identity.meta) && { meta: { values: next.meta } }),
    ...(!sameLimits(next.limits, identity.limits) && { limits: { values: next.limits } }),
    ...creditsChange(identity.credits, next.credits),
  };
}

/** A CreateIdentity request for the settings. */
export function identityCreation(next: IdentitySettings): MessageInitShape<typeof CreateIdentityRequestSchema> {
  const { credits, ...rest } = next;
  return { ...rest, ...(credits && { credits }) };
}
