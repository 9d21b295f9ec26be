import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { CommandIo } from "./command.js";

/** Output for people (aligned tables and fields) and for scripts (the API's own JSON). */

/** The response as Connect's JSON (camelCase names, enum names, int64 as strings), one document. */
export function printJson<Desc extends DescMessage>(io: CommandIo, schema: Desc, message: MessageShape<Desc>): void {
  io.out(`${JSON.stringify(toJson(schema, message), null, 2)}\n`);
}

export function printTable(io: CommandIo, headers: readonly string[], rows: readonly (readonly string[])[], empty = "(none)"): void {
  if (rows.length === 0) {
    io.out(`${empty}\n`);
    return;
  }
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
  io.out(`${fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)}  ${value}`).join("\n")}\n`);
}

export const time = (ts: Timestamp | undefined): string => (ts ? timestampDate(ts).toISOString().replace(/\.000Z$/, "Z") : "-");
export const count = (n: bigint | number): string => String(n);
