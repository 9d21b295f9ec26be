import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { escapeUnsafeCharacters } from "../text/unsafe-characters.js";
import type { CommandIo } from "./command.js";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";

/**
 * Output for people (aligned tables and fields) and for scripts (the API's own JSON). Stored
 * strings may hold control characters (records from before the API refused them, request paths
 * from the data plane), so nothing reaches the terminal raw: each table cell and field value is
 * one line with every control character escaped (a stored newline cannot forge a row), and
 * `terminalSafeIo` escapes whatever else is printed, keeping only the CLI's own newlines and tabs.
 */

/** `io` with every character a terminal would act on escaped, except newlines and tabs. */
export function terminalSafeIo(io: CommandIo): CommandIo {
  return {
    ...io,
    out: (text) => io.out(escapeUnsafeCharacters(text, "\n\t")),
    err: (text) => io.err(escapeUnsafeCharacters(text, "\n\t")),
  };
}

const oneLine = (value: string): string => escapeUnsafeCharacters(value);

/**
 * The response as Connect's JSON (camelCase names, enum names, int64 as strings), one document.
 * JSON.stringify escapes C0 controls; terminalSafeIo's escapes of the rest are JSON's own, so
 * the document still parses to the same values.
 */
export function printJson<Desc extends DescMessage>(io: CommandIo, schema: Desc, message: MessageShape<Desc>): void {
  io.out(`${JSON.stringify(toJson(schema, message), null, 2)}\n`);
}

export function printTable(io: CommandIo, headers: readonly string[], values: readonly (readonly string[])[], empty = "(none)"): void {
  if (values.length === 0) {
    io.out(`${empty}\n`);
    return;
  }
  const rows = values.map((row) => row.map(oneLine));
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  io.out(`${[line(headers), ...rows.map(line)].join("\n")}\n`);
}

export function printFields(io: CommandIo, fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  io.out(`${fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)}  ${oneLine(value)}`).join("\n")}\n`);
}

export const time = (ts: Timestamp | undefined): string => (ts ? timestampDate(ts).toISOString().replace(/\.000Z$/, "Z") : "-");
export const count = (n: bigint | number): string => String(n);

export const PERIOD_NAME: Record<RateLimitPeriod, string> = {
  [RateLimitPeriod.UNSPECIFIED]: "",
  [RateLimitPeriod.SECOND]: "second",
  [RateLimitPeriod.MINUTE]: "minute",
  [RateLimitPeriod.HOUR]: "hour",
  [RateLimitPeriod.DAY]: "day",
};

/**
 * An error's message and its causes' (e.g. "MongoDB unreachable: connect ECONNREFUSED …"): a
 * command that fails mid-way says what failed, so an operator knows what to fix.
 */
export function withCauses(error: unknown): string {
  const messages: string[] = [];
  for (let at = error, depth = 0; at !== undefined && depth < 4; at = at instanceof Error ? at.cause : undefined, depth++) {
    messages.push(at instanceof Error ? at.message : String(at));
  }
  return messages.join(": ");
}
