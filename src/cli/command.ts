import { editDistance, nearest } from "../text/edit-distance.js";

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
 * secret is not valid (`keys test`), 6 the request tried was denied (`check`).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, denied: 4, keyInvalid: 5, requestDenied: 6 } as const;

/** EXIT in words, the one list every command's help ends with, so that no help leaves a code out. */
export const EXIT_HELP = `Exit codes: 0 ok (check: allowed); 1 server or connection failure; 2 wrong usage or
configuration, or a value or request the server refused (invalid_argument, failed_precondition);
3 not found; 4 the admin key is not valid or not allowed; 5 (keys test) the secret tested is not
valid; 6 (check) the request tried was denied.`;

/** The usage line (or lines) that open a command's help. */
export function usageLines(help: string): string {
  const lines = help.split("\n");
  const end = lines.findIndex((line) => line.trim() === "");
  return lines.slice(0, end === -1 ? lines.length : end).join("\n");
}

/**
 * How a usage error is printed: the one-line error, the command's own usage line and where its
 * help is, not the whole help, whose first screen would hide the error.
 */
export function usageFailure(io: CommandIo, command: string, message: string, help: string): number {
  io.err(`${command}: ${message}\n${usageLines(help)}\nRun \`${command} --help\` for more.\n`);
  return EXIT.usage;
}

/** A UsageError, or node:util parseArgs's own errors (an unknown option, a missing value). */
export const isUsageError = (error: unknown): error is Error =>
  error instanceof UsageError || (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true);

/** Node's wording of an unknown option, which goes on about positionals starting with '-'. */
const UNKNOWN_OPTION = /^Unknown option '([^']+)'/;
/** Farther than this, the nearest option is no longer a likely misspelling of it. */
const MAX_SUGGESTED_DISTANCE = 3;

/**
 * A usage error's one line: an unknown option as `unknown option --nme (did you mean --name?)`,
 * the candidates read from the command's help, which lists every option it takes.
 */
export function usageMessage(error: Error, help: string): string {
  const unknown = (error as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? UNKNOWN_OPTION.exec(error.message)?.[1] : undefined;
  if (unknown === undefined) return error.message;
  const known = [...new Set(help.match(/--[a-z][a-z-]*/g) ?? [])];
  const near = nearest(unknown, known);
  const suggestion = near !== undefined && editDistance(unknown, near) <= MAX_SUGGESTED_DISTANCE ? ` (did you mean ${near}?)` : "";
  return `unknown option ${unknown}${suggestion}`;
}
