/**
 * A key's scopes as Check reads them: membership for the scope step, and the list as the allow's
 * dynamic metadata carries it (space-separated, in the key's own order). Made once per distinct
 * list and shared by the keys that have it (SharedKeyParts), so it holds nothing of one key.
 */
export class ScopeSet {
  readonly #members: ReadonlySet<string>;
  /** The key's scopes joined by spaces, as the record lists them. */
  readonly joined: string;

  constructor(scopes: readonly string[]) {
    this.#members = new Set(scopes);
    this.joined = scopes.join(" ");
  }

  has(scope: string): boolean {
    return this.#members.has(scope);
  }
}
