import { create } from "@bufbuild/protobuf";
import { CreditsSchema, RefillInterval, type Credits } from "../../gen/keygate/v1/key_admin_pb.js";
import { field, h, select } from "./dom.js";
import { formatCount } from "./format.js";

/**
 * Credits (issue 19) as keys and identities hold them: a balance Checks spend, refilled daily or
 * monthly or never. Shown as one sentence, edited as a fieldset that names each control as the
 * server does (`credits.remaining`, `credits.refill.day`), so its errors show there.
 */

export function creditsText(credits: Credits | undefined): string {
  if (!credits) return "none";
  const balance = `${formatCount(credits.remaining)} credits as last set`;
  const refill = credits.refill;
  if (!refill) return `${balance}, never refilled`;
  const when = refill.interval === RefillInterval.DAILY ? "each day (UTC)" : `each month on day ${refill.day || 1} (UTC)`;
  return `${balance}, refilled to ${formatCount(refill.amount)} ${when}`;
}

const REFILLS = [
  ["never", "Never"],
  [String(RefillInterval.DAILY), "Daily"],
  [String(RefillInterval.MONTHLY), "Monthly"],
] as const;

const INT64_MAX = 2n ** 63n - 1n;
/** A typed count, or `otherwise` (a value the server refuses at the field, in its words) for what is not one. */
const count = (text: string, otherwise: bigint): bigint => (/^\d+$/.test(text.trim()) ? (BigInt(text.trim()) > INT64_MAX ? INT64_MAX : BigInt(text.trim())) : otherwise);

const dayOf = (text: string): number => (/^\d+$/.test(text.trim()) ? Math.min(Number(text.trim()), 32) : -1);

export interface CreditsField {
  element: HTMLFieldSetElement;
  /** The credits asked for; undefined: none. */
  read(): Credits | undefined;
}

/** `whose`: what the box turns on, e.g. "This key spends credits". */
export function creditsField(initial: Credits | undefined, whose: string, hint: string): CreditsField {
  const on = h("input", { type: "checkbox", name: "creditsOn", checked: initial !== undefined });
  const remaining = h("input", { type: "number", name: "creditsRemaining", min: 0, step: 1, inputmode: "numeric", "data-field": "credits.remaining", value: String(initial?.remaining ?? 1000n) });
  const refill = select(REFILLS, initial?.refill ? String(initial.refill.interval) : "never", { name: "refillInterval", "data-field": "credits.refill.interval" });
  const amount = h("input", { type: "number", name: "refillAmount", min: 1, step: 1, inputmode: "numeric", "data-field": "credits.refill.amount", value: String(initial?.refill?.amount ?? 1000n) });
  const day = h("input", { type: "number", name: "refillDay", min: 1, max: 31, step: 1, inputmode: "numeric", "data-field": "credits.refill.day", value: String(initial?.refill?.day || 1) });
  const amountField = field("Refill to", amount, "What the balance is set to at each refill; unused credits do not pile up.");
  const dayField = field("Day of the month", day, "1 to 31; a shorter month refills on its last day.");
  const details = h("div", { class: "credits-details" }, field("Credits remaining", remaining, "Each Check spends its cost from this balance. Shown as last set: saving changed credits starts them afresh from it, and what was spent since no longer counts."), h("div", { class: "inline" }, field("Refill", refill), amountField, dayField));
  // Only what applies is shown: the details with credits on, the amount with a refill, the day monthly.
  const sync = () => {
    details.hidden = !on.checked;
    amountField.hidden = refill.value === "never";
    dayField.hidden = refill.value !== String(RefillInterval.MONTHLY);
  };
  on.addEventListener("change", sync);
  refill.addEventListener("change", sync);
  sync();

  const element = h(
    "fieldset",
    { class: "credits-field", "data-field": "credits" },
    h("legend", null, "Credits"),
    h("label", { class: "check" }, on, h("span", null, whose, h("span", { class: "hint" }, ` ${hint}`))),
    details,
  );
  return {
    element,
    read: () => {
      if (!on.checked) return undefined;
      const interval = refill.value === "never" ? undefined : (Number(refill.value) as RefillInterval);
      return create(CreditsSchema, {
        remaining: count(remaining.value, -1n),
        ...(interval !== undefined && {
          refill: { amount: count(amount.value, 0n), interval, day: interval === RefillInterval.MONTHLY ? dayOf(day.value) : 0 },
        }),
      });
    },
  };
}

const sameCredits = (a: Credits | undefined, b: Credits | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.remaining === b.remaining &&
      (a.refill === undefined || b.refill === undefined
        ? a.refill === b.refill
        : a.refill.amount === b.refill.amount && a.refill.interval === b.refill.interval && (a.refill.day || 1) === (b.refill.day || 1));

/** What an update sends about credits: a new balance, their removal, or nothing when unchanged. */
export function creditsChange(before: Credits | undefined, after: Credits | undefined): { credits: Credits } | { clearCredits: true } | Record<string, never> {
  if (sameCredits(before, after)) return {};
  return after ? { credits: after } : { clearCredits: true };
}
