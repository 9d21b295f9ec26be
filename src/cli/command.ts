/** What a CLI command reads and writes, so tests run commands without a child process. */
export interface CommandIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** All of standard input (for secrets that should not be arguments); absent in tests that give none. */
  readStdin?(): Promise<string>;
}

/** Wrong arguments: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Exit codes scripts can rely on: 0 ok, 1 failure (server, connection), 2 wrong usage or a value
 * the server refused, 3 not found, 4 the admin key is not valid or not allowed, 5 a tested
 * secret is not valid (`keys test`).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, denied: 4, keyInvalid: 5 } as const;
