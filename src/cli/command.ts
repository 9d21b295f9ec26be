/** What a CLI command reads and writes, so tests run commands without a child process. */
export interface CommandIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
}

/** Wrong arguments: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
