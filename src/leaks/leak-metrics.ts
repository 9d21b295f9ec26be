import { Counter, type Registry } from "prom-client";
import type { TokenLabel } from "./classify-tokens.js";
import type { ReportRefusal } from "./leak-report.js";
import { LEAK_RESPONSES, type LeakResponse } from "./leak-response.js";

/**
 * Secret scanning's metrics, in the registry given (the app's): reports refused by reason (a run of
 * signature failures is someone probing, or a stale keys file), reported tokens by label, and the
 * leaked keys acted on by what was done (leak-response.ts). No key, organization or URL is a label.
 */
export interface LeakObserver {
  refused(refusal: ReportRefusal): void;
  labelled(label: TokenLabel["label"]): void;
  acted(response: LeakResponse): void;
}

const REFUSALS: readonly ReportRefusal[] = ["rate_limited", "signature_missing", "key_unknown", "signature_invalid", "body_too_large", "body_malformed"];
const LABELS: readonly TokenLabel["label"][] = ["true_positive", "false_positive"];

export function leakMetrics(registry: Registry): LeakObserver {
  const registers = [registry];
  const refused = new Counter({
    name: "keygate_secret_scanning_reports_refused_total",
    help: "Secret-scanning reports refused, by reason: rate_limited (429); signature_missing, key_unknown, signature_invalid (401); body_too_large, body_malformed (400).",
    labelNames: ["reason"] as const,
    registers,
  });
  const tokens = new Counter({
    name: "keygate_secret_scanning_tokens_total",
    help: "Tokens in verified secret-scanning reports, by label: true_positive (a keygate key's secret) or false_positive.",
    labelNames: ["label"] as const,
    registers,
  });
  const leaked = new Counter({
    name: "keygate_leaked_keys_total",
    help: "Leaked keys acted on (key.leaked written), by what was done: the organization's leaked_key_action (notify, disable, revoke), end_grace_period (a rotated-out secret in its grace), none (revoked, deleted or past its grace).",
    labelNames: ["action"] as const,
    registers,
  });
  for (const reason of REFUSALS) refused.inc({ reason }, 0);
  for (const label of LABELS) tokens.inc({ label }, 0);
  for (const action of LEAK_RESPONSES) leaked.inc({ action }, 0);
  return {
    refused: (reason) => refused.inc({ reason }),
    labelled: (label) => tokens.inc({ label }),
    acted: (response) => leaked.inc({ action: response }),
  };
}
