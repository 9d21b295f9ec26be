/**
 * Characters that make a terminal or a text view do something other than show them: the C0 and
 * C1 controls and DEL (ESC and CSI start sequences that clear the screen, move the cursor, set
 * the window title or write to the clipboard; CR overwrites a line), and the explicit
 * bidirectional formatting characters (embeddings, overrides, isolates, U+202A-U+202E and
 * U+2066-U+2069), which reorder the text around them so that what is shown is not what is
 * stored ("Trojan Source"). The implicit marks LRM, RLM and ALM are left out on purpose:
 * right-to-left text needs them, and they reorder nothing but the neutral characters beside them.
 *
 * The admin API refuses these in the free text it stores; the CLI escapes them in whatever it
 * prints, since older records and data-plane values (request paths) may still hold them.
 */
const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");

/** `U+001B`: how a message names a character without writing it. */
export const codePoint = (character: string): string => `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/** The first unsafe character of `text` that is not one of `allowed`, if there is one. */
export function firstUnsafeCharacter(text: string, allowed = ""): string | undefined {
  if (!UNSAFE.test(text)) return undefined;
  for (const match of text.matchAll(UNSAFE_ALL)) if (!allowed.includes(match[0])) return match[0];
  return undefined;
}

const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r" };

/**
 * `text` with every unsafe character except those in `keep` written as an escape: `\n`, `\t`,
 * `\r`, else `\u001b`. The escapes are JSON's, so inside a JSON string the value stays the same.
 */
export function escapeUnsafeCharacters(text: string, keep = ""): string {
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_ALL, (c) => (keep.includes(c) ? c : (SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)));
}
