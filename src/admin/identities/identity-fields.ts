import { fieldError } from "../errors.js";
import { validText } from "../validation.js";

/**
 * Field rules of the identity RPCs besides limits and credits (named-limits.ts, credits-fields.ts).
 * Each failure is an API_KEY_FIELD_INVALID naming the field, raised before anything is written.
 */

const EXTERNAL_ID_MAX = 256;
const NAME_MAX = 256;
const META_MAX_ENTRIES = 32;
const META_KEY_MAX = 64;
/**
 * 256 characters, not 1 KiB: 32 values of 1 KiB made each identity up to 32 KiB (and 128 KiB in
 * 4-byte characters) read into every identity list page and the identity cache; meta tags a
 * customer (a plan, a region, a CRM id), it is not a document store.
 */
const META_VALUE_MAX = 256;

/** The organization's own id for its customer: 1–256 characters, nothing a terminal acts on. */
export function validExternalId(externalId: string, field = "external_id"): string {
  if (externalId === "") throw fieldError(field, "is required");
  return validText(externalId, field, EXTERNAL_ID_MAX);
}

export const validIdentityName = (name: string): string => validText(name, "name", NAME_MAX);

/** At most 32 entries; keys 1–64 characters, values at most 256; nothing a terminal acts on. */
export function validMeta(meta: Readonly<Record<string, string>>, field = "meta"): Record<string, string> {
  const entries = Object.entries(meta);
  if (entries.length > META_MAX_ENTRIES) throw fieldError(field, `must hold at most ${META_MAX_ENTRIES} entries`);
  for (const [key, value] of entries) {
    if (key === "" || [...key].length > META_KEY_MAX) throw fieldError(field, `keys must be 1 to ${META_KEY_MAX} characters`);
    validText(key, field, META_KEY_MAX);
    // The key is named only when it is safe to show (validText above passed).
    validText(value, `${field}[${JSON.stringify(key)}]`, META_VALUE_MAX);
  }
  return Object.fromEntries(entries);
}
