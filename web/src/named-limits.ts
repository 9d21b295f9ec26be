import { create } from "@bufbuild/protobuf";
import { NamedLimitSchema, RateLimitPeriod, type NamedLimit } from "../../gen/keygate/v1/key_admin_pb.js";
import { field, h, select } from "./dom.js";
import { formatCount, PERIOD_LABEL } from "./format.js";
import { rowList, type RowList } from "./row-list.js";

/** Named limits (issue 19) as keys and identities hold them: shown as text, edited as rows. */

export const RATE_PERIODS = [
  [String(RateLimitPeriod.SECOND), "per second"],
  [String(RateLimitPeriod.MINUTE), "per minute"],
  [String(RateLimitPeriod.HOUR), "per hour"],
  [String(RateLimitPeriod.DAY), "per day"],
] as const;

/** The server's bound on a list of limits. */
const MAX_LIMITS = 16;

/**
 * A typed count as an int32 the request can carry: what is not a whole number goes as 0 and what
 * is too large as int32's largest, both of which the server refuses at the field, in its words.
 */
const wholeInt32 = (text: string): number => Math.min(Math.trunc(Number(text)) || 0, 2 ** 31 - 1);

export function limitsText(limits: readonly NamedLimit[]): HTMLElement {
  if (limits.length === 0) return h("span", { class: "hint" }, "none");
  return h(
    "ul",
    { class: "limit-list" },
    limits.map((limit) => h("li", null, h("code", null, limit.name), ` ${formatCount(limit.limit)} / ${PERIOD_LABEL[limit.period]}`)),
  );
}

/** `hint` says whose the limits are: a key's own, or shared by an identity's keys. */
export function limitRows(initial: readonly NamedLimit[], hint: string): RowList<NamedLimit> {
  return rowList({
    legend: "Named limits",
    field: "limits",
    hint,
    noun: "limit",
    max: MAX_LIMITS,
    initial,
    row: (value) => {
      const name = h("input", { type: "text", name: "limitName", maxlength: 64, autocomplete: "off", spellcheck: "false", placeholder: "per-day", value: value?.name ?? "" });
      const limit = h("input", { type: "number", name: "limitValue", min: 1, step: 1, inputmode: "numeric", value: value ? String(value.limit) : "" });
      const period = select(RATE_PERIODS, String(value?.period ?? RateLimitPeriod.MINUTE), { name: "limitPeriod" });
      return {
        cells: [field("Limit name", name), field("Requests", limit), field("Limit period", period)],
        controls: { name, limit, period },
        read: () =>
          name.value.trim() === "" && limit.value.trim() === ""
            ? undefined
            : create(NamedLimitSchema, { name: name.value.trim(), limit: wholeInt32(limit.value), period: Number(period.value) as RateLimitPeriod }),
      };
    },
  });
}

export const sameLimits = (a: readonly NamedLimit[], b: readonly NamedLimit[]): boolean =>
  a.length === b.length && a.every((limit, i) => limit.name === b[i]!.name && limit.limit === b[i]!.limit && limit.period === b[i]!.period);
