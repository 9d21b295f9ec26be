import type { DescEnum, DescField, DescMessage, JsonValue } from "@bufbuild/protobuf";

/**
 * protobuf-es words a bad enum value (`"rateLimitPeriod": "MINUTE"`) without the field that held
 * it ("cannot decode enum keygate.v1.RateLimitPeriod from JSON: "MINUTE""), unlike every other
 * bad value. This finds that field in the JSON the message was decoded from and words the error
 * as protobuf-es words a field's, so that the service's error names the field (`field` metadata).
 */

const ENUM_ERROR = /^cannot decode enum ([\w.]+) from JSON: /;

/** The error reworded with its field, or the error itself when it is not about an enum value. */
export function withEnumField(problem: Error, schema: DescMessage, json: JsonValue): Error {
  const enumName = ENUM_ERROR.exec(problem.message)?.[1];
  if (enumName === undefined) return problem;
  const field = badEnumField(schema, json, enumName);
  if (field === undefined) return problem;
  const names = field.enum.values.map((value) => value.name).join(", ");
  return new Error(`cannot decode field ${field.parent.typeName}.${field.name} from JSON: ${problem.message.replace(ENUM_ERROR, "")} is not one of ${names}`, {
    cause: problem,
  });
}

/** The field at fault: its name, the message it is of, its enum. */
interface EnumField {
  name: string;
  parent: DescMessage;
  enum: DescEnum;
}

/** The first field of enum `enumName`, at any depth, whose JSON value is not one of the enum's. */
function badEnumField(schema: DescMessage, json: JsonValue, enumName: string): EnumField | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    if (field === undefined || value === null) continue;
    const found = inField(field, value, enumName);
    if (found !== undefined) return found;
  }
  return undefined;
}

function inField(field: DescField, value: JsonValue, enumName: string): EnumField | undefined {
  const values = (kind: string): JsonValue[] =>
    field.fieldKind === "list" && kind === "list" && Array.isArray(value)
      ? value
      : field.fieldKind === "map" && kind === "map" && typeof value === "object" && value !== null && !Array.isArray(value)
        ? Object.values(value)
        : [];
  switch (field.fieldKind) {
    case "enum":
      return field.enum.typeName === enumName && !isEnumValue(field.enum, value) ? { name: field.name, parent: field.parent, enum: field.enum } : undefined;
    case "message":
      return badEnumField(field.message, value, enumName);
    case "list":
      if (field.listKind === "enum") return field.enum.typeName === enumName && values("list").some((v) => !isEnumValue(field.enum, v)) ? { name: field.name, parent: field.parent, enum: field.enum } : undefined;
      if (field.listKind === "message") return firstOf(values("list"), (v) => badEnumField(field.message, v, enumName));
      return undefined;
    case "map":
      if (field.mapKind === "enum") return field.enum.typeName === enumName && values("map").some((v) => !isEnumValue(field.enum, v)) ? { name: field.name, parent: field.parent, enum: field.enum } : undefined;
      if (field.mapKind === "message") return firstOf(values("map"), (v) => badEnumField(field.message, v, enumName));
      return undefined;
    default:
      return undefined;
  }
}

function firstOf<T>(items: JsonValue[], find: (item: JsonValue) => T | undefined): T | undefined {
  for (const item of items) {
    const found = find(item);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** As protobuf-es reads an enum from JSON: a value's name, or any integer. */
const isEnumValue = (desc: DescEnum, value: JsonValue): boolean =>
  (typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && desc.values.some((v) => v.name === value));
