import { parseArgs, type ParseArgsConfig } from "node:util";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { EXIT, EXIT_HELP, isUsageError, usageFailure, usageMessage, UsageError, type CommandIo } from "./command.js";
import { printJson } from "./output.js";

/**
 * The frame of the commands that call a running keygate: connection flags and variables, one
 * admin client, subcommand dispatch with --help at every level, and RPC errors as exit codes.
 */

export const DEFAULT_URL = "http://localhost:8080";

export const CONNECTION_HELP = `Connection options (every command):
  --url URL           keygate's address (default: $KEYGATE_URL, else ${DEFAULT_URL})
  --api-key KEY       an admin key (default: $KEYGATE_ADMIN_KEY, as keygate prints it at start);
                      prefer the variable, since arguments show up in ps and shell history
  --timeout SECONDS   give up after this long (default 30)
  --json              print the API's JSON response, for scripts
  -h, --help          show this help`;

const CONNECTION_OPTIONS = {
  url: { type: "string" },
  "api-key": { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed = ReturnType<typeof parseArgs<{ options: Options; allowPositionals: true; strict: true }>>;

export interface RunContext {
  io: CommandIo;
  values: Parsed["values"];
  positionals: string[];
  /** A client for the server the flags or environment name; throws UsageError without a key. */
  client(): Client<typeof KeyAdminService>;
  /** Prints the response as JSON with --json, else as `human` prints it; returns exit code 0. */
  respond<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, human: () => void): number;
}

export interface Subcommand {
  /** One line for the group's help. */
  summary: string;
  /** The full help: usage line, what it does, its options (connection options are appended). */
  help: string;
  options?: Options;
  /** Positional arguments: how many at least and at most. */
  positionals?: [min: number, max: number];
  /** The positional arguments' names as the usage line spells them, so a missing one is named. */
  argumentNames?: readonly string[];
  /** The flag that sets an API field named otherwise (`url`: `--target`), for the server's errors. */
  flagOfField?: Readonly<Record<string, string>>;
  run(ctx: RunContext): Promise<number>;
}

/** keygate's address from --url, else KEYGATE_URL, else the default; a UsageError unless http(s). */
export function keygateUrl(flag: string | undefined, env: CommandIo["env"]): string {
  const url = flag ?? env["KEYGATE_URL"] ?? DEFAULT_URL;
  if (!/^https?:\/\/[^/\s]+/.test(url)) throw new UsageError(`--url must be an http:// or https:// address, got ${JSON.stringify(url)}`);
  return url.replace(/\/+$/, "");
}

function connect(values: Parsed["values"], env: CommandIo["env"]): Client<typeof KeyAdminService> {
  const url = keygateUrl(values["url"] as string | undefined, env);
  // KEYGATE_ADMIN_KEY is what keygate prints at start; KEYGATE_API_KEY, which this help named
  // before, is still read so that scripts written then keep working.
  const apiKey = (values["api-key"] as string | undefined) || env["KEYGATE_ADMIN_KEY"] || env["KEYGATE_API_KEY"];
  if (!apiKey) throw new UsageError("no admin key: set KEYGATE_ADMIN_KEY (or pass --api-key)");
  const rawTimeout = (values["timeout"] as string | undefined) ?? "30";
  const timeoutSeconds = Number(rawTimeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds`);
  return createClient(
    KeyAdminService,
    createConnectTransport({
      baseUrl: url,
      httpVersion: "1.1",
      defaultTimeoutMs: timeoutSeconds * 1000,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${apiKey}`);
          return next(req);
        },
      ],
    }),
  );
}

/** Runs one subcommand: parse, --help, positional count, then the call. Usage errors print its help. */
export async function runSubcommand(title: string, sub: Subcommand, args: string[], io: CommandIo): Promise<number> {
  const help = `${sub.help.trimEnd()}\n\n${CONNECTION_HELP}\n\n${EXIT_HELP}\n`;
  try {
    const { values, positionals } = parseArgs({ args, options: { ...CONNECTION_OPTIONS, ...sub.options }, allowPositionals: true, strict: true });
    if (values["help"]) {
      io.out(help);
      return EXIT.ok;
    }
    const [min, max] = sub.positionals ?? [0, 0];
    const missing = sub.argumentNames?.[positionals.length];
    if (positionals.length < min) {
      throw new UsageError(missing !== undefined ? `${missing} is missing` : min === 1 ? "an argument is missing" : `${min} arguments are needed`);
    }
    if (positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`);
    let client: Client<typeof KeyAdminService> | undefined;
    const json = values["json"] === true;
    return await sub.run({
      io,
      values,
      positionals,
      client: () => (client ??= connect(values, io.env)),
      respond(schema, message, human) {
        if (json) printJson(io, schema, message);
        else human();
        return EXIT.ok;
      },
    });
  } catch (error) {
    if (isUsageError(error)) return usageFailure(io, title, usageMessage(error, help), help);
    if (error instanceof ConnectError) return rpcFailure(title, error, io, sub.flagOfField ?? {});
    throw error;
  }
}

/** A command made of subcommands (`keygate keys create …`); `--help` alone lists them. */
export function commandGroup(name: string, summary: string, subcommands: Record<string, Subcommand>) {
  const width = Math.max(...Object.keys(subcommands).map((s) => s.length));
  const help = `Usage: keygate ${name} <command> [options]

${summary}

Commands:
${Object.entries(subcommands)
  .map(([sub, spec]) => `  ${sub.padEnd(width)}  ${spec.summary}`)
  .join("\n")}

Run keygate ${name} <command> --help for a command's options.
${EXIT_HELP}
`;
  const run = async (args: string[], io: CommandIo): Promise<number> => {
    const [sub, ...rest] = args;
    if (sub === undefined) return usageFailure(io, `keygate ${name}`, "a command is missing", help);
    if (sub === "--help" || sub === "-h" || sub === "help") {
      io.out(help);
      return EXIT.ok;
    }
    const spec = subcommands[sub];
    if (!spec) return usageFailure(io, `keygate ${name}`, `unknown command ${JSON.stringify(sub)}`, help);
    return runSubcommand(`keygate ${name} ${sub}`, spec, rest, io);
  };
  return { run, help };
}

/** A command without subcommands (`keygate audit`). */
export function singleCommand(name: string, spec: Subcommand) {
  return { run: (args: string[], io: CommandIo) => runSubcommand(`keygate ${name}`, spec, args, io), help: spec.help };
}

const EXIT_OF_CODE: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: EXIT.usage,
  // A well-formed request the server's present state refuses (an identity keys are tied to):
  // the caller must change something first, as with a refused value; retrying will not help.
  [Code.FailedPrecondition]: EXIT.usage,
  [Code.NotFound]: EXIT.notFound,
  [Code.Unauthenticated]: EXIT.denied,
  [Code.PermissionDenied]: EXIT.denied,
};

function rpcFailure(title: string, error: ConnectError, io: CommandIo, flagOfField: Readonly<Record<string, string>>): number {
  const info = error.findDetails(ErrorInfoSchema)[0];
  const reason = info?.reason;
  const unreachable = error.code === Code.Unavailable && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|connect/i.test(error.rawMessage);
  // The server names its field ("url: …"); the user typed a flag, and should read the flag.
  const field = info?.metadata["field"];
  const flag = field !== undefined && Object.hasOwn(flagOfField, field) ? flagOfField[field] : undefined;
  const message = flag !== undefined && error.rawMessage.startsWith(`${field}:`) ? `${flag}${error.rawMessage.slice(field!.length)}` : error.rawMessage;
  const what = unreachable
    ? `cannot reach keygate (${error.rawMessage}); check --url or KEYGATE_URL`
    : `${message || Code[error.code]} (${reason ?? Code[error.code]})`;
  io.err(`${title}: ${what}\n`);
  return EXIT_OF_CODE[error.code] ?? EXIT.failure;
}
