import type { Identity } from "../../gen/keygate/v1/key_admin_pb.js";
import { api } from "./api.js";
import { field, h, select } from "./dom.js";

/** Choosing a key's identity: the organization's identities as a list, read when a key dialog opens. */

/** ListIdentities' largest page: the fewest round trips for the whole list. */
const PAGE_SIZE = 1000;

export async function loadAllIdentities(signal?: AbortSignal): Promise<Identity[]> {
  const identities: Identity[] = [];
  let pageToken = "";
  do {
    const page = await api.listIdentities({ pageSize: PAGE_SIZE, pageToken }, signal ? { signal } : {});
    identities.push(...page.identities);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return identities;
}

/** How an identity is named everywhere in the console: its name, with the external id that is unique. */
export const identityLabel = (identity: Identity): string => (identity.name ? `${identity.name} (${identity.externalId})` : identity.externalId);

export interface IdentityChoice {
  element: HTMLElement;
  /** The chosen identity's id; "" for none. */
  value(): string;
}

/**
 * `identities` undefined: they could not be read, and `why` says so; the key's own identity stays
 * chosen (by id), so saving the key's other settings does not untie it.
 */
export function identityChoice(identities: readonly Identity[] | undefined, current: string, why = ""): IdentityChoice {
  const known = identities ?? [];
  const options: [string, string][] = [["", "None"], ...known.map((identity): [string, string] => [identity.id, identityLabel(identity)])];
  if (current !== "" && !known.some((identity) => identity.id === current)) options.push([current, current]);
  const control = select(options, current, { name: "identityId", "data-field": "identity_id" });
  return {
    element: field(
      "Identity",
      control,
      identities ? "The customer this key belongs to: the identity's named limits and credits apply to it too, shared with its other keys." : why,
    ),
    value: () => control.value,
  };
}

/** The identities for a key dialog, or undefined with the reason in words (the dialog still opens). */
export async function identitiesForDialog(): Promise<{ identities: Identity[] | undefined; why: string }> {
  try {
    return { identities: await loadAllIdentities(), why: "" };
  } catch {
    return { identities: undefined, why: "The identities could not be read; the key keeps the one it has." };
  }
}

/** A link to a key's identity, named once GetIdentity answers; "none" for a key tied to none. */
export function identityLink(id: string, signal: AbortSignal): HTMLElement {
  if (id === "") return h("span", { class: "hint" }, "none");
  const link = h("a", { href: `#/identities/${encodeURIComponent(id)}` }, id);
  api.getIdentity({ id }, { signal }).then(
    ({ identity }) => {
      if (identity) link.textContent = identityLabel(identity);
    },
    // The id stays as the link's text: the identity page says what is wrong.
    () => {},
  );
  return link;
}
