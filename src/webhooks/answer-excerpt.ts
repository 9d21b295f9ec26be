import { redactSecrets } from "../model/secret.js";
import { escapeUnsafeCharacters } from "../text/unsafe-characters.js";

/**
 * What a delivery record keeps of a receiver's answer or of a network error: a short excerpt the
 * console and CLI show as text. The receiver is the tenant's (or whoever its URL reaches), so its
 * answer is untrusted: runs of whitespace become one space, the remaining control and
 * bidirectional formatting characters are escaped (text/unsafe-characters.ts), anything shaped
 * like an API key is redacted, and at most EXCERPT_MAX_CHARACTERS are kept.
 */

export const EXCERPT_MAX_CHARACTERS = 200;

export function answerExcerpt(text: string): string {
  const flat = escapeUnsafeCharacters(redactSecrets(text.replace(/\s+/gu, " ").trim()));
  const characters = [...flat];
  return characters.length <= EXCERPT_MAX_CHARACTERS ? flat : `${characters.slice(0, EXCERPT_MAX_CHARACTERS - 1).join("")}…`;
}
