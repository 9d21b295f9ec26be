import { classifyTokens, type ClassifyDeps, type LeakedKey } from "./classify-tokens.js";
import type { GithubPublicKeys } from "./github-public-keys.js";
import type { LeakObserver } from "./leak-metrics.js";
import { refusalByHeaders, verifyLeakReport, type ReportRefusal, type SignedReport } from "./leak-report.js";

/**
 * GitHub's secret-scanning partner endpoint, apart from HTTP: a report's headers are judged before
 * its body is read, then the signed body is classified and the keys that leaked are acted on. The
 * answer is a status and a JSON body; a refused report changes nothing and reads nothing from the store.
 */

export interface ReportAnswer {
  status: number;
  body: unknown;
}

/** One row per refusal: a signature's fault is 401, the body's 400 (the contract); too many reports 429. */
const REFUSALS: Record<ReportRefusal, { status: number; code: string; message: string }> = {
  rate_limited: { status: 429, code: "RATE_LIMITED", message: "too many reports; send it again after Retry-After" },
  signature_missing: { status: 401, code: "SIGNATURE_MISSING", message: "Github-Public-Key-Identifier and Github-Public-Key-Signature are required" },
  key_unknown: { status: 401, code: "SIGNATURE_KEY_UNKNOWN", message: "Github-Public-Key-Identifier names no key in the secret-scanning keys file" },
  signature_invalid: { status: 401, code: "SIGNATURE_INVALID", message: "Github-Public-Key-Signature does not verify over the body" },
  body_too_large: { status: 400, code: "BODY_TOO_LARGE", message: "the report is larger than 1 MiB" },
  body_malformed: { status: 400, code: "BODY_MALFORMED", message: "the report is not a JSON array of {token, type, url, source}" },
};

function refusalAnswer(refusal: ReportRefusal): ReportAnswer {
  const { status, code, message } = REFUSALS[refusal];
  return { status, body: { error: { code, message } } };
}

export interface SecretScanningDeps extends ClassifyDeps {
  /** The keys as of now (GithubKeysFile.current, which re-reads a changed file). */
  publicKeys: () => Promise<GithubPublicKeys>;
  /** Acts on the keys that leaked (ActOnLeaks.act) before the answer, so a failure is retried by GitHub. */
  act: (leaked: readonly LeakedKey[]) => Promise<void>;
  observer: LeakObserver;
}

export class SecretScanning {
  readonly #deps: SecretScanningDeps;

  constructor(deps: SecretScanningDeps) {
    this.#deps = deps;
  }

  /** A refusal the headers decide, before any of the body is read; undefined: read it. */
  async screen(headers: Omit<SignedReport, "body"> & { contentLength: number | undefined }): Promise<ReportAnswer | undefined> {
    const refusal = refusalByHeaders(headers, await this.#deps.publicKeys());
    return refusal ? this.#refuse(refusal) : undefined;
  }

  async receive(report: SignedReport): Promise<ReportAnswer> {
    const verdict = verifyLeakReport(report, await this.#deps.publicKeys());
    if (!verdict.ok) return this.#refuse(verdict.refusal);
    const { labels, leaked } = await classifyTokens(verdict.tokens, this.#deps);
    for (const { label } of labels) this.#deps.observer.labelled(label);
    await this.#deps.act(leaked);
    return { status: 200, body: labels };
  }

  /** A refusal the server decided itself (a body longer than it declared), counted like the others. */
  refuse(refusal: ReportRefusal): ReportAnswer {
    return this.#refuse(refusal);
  }

  #refuse(refusal: ReportRefusal): ReportAnswer {
    this.#deps.observer.refused(refusal);
    return refusalAnswer(refusal);
  }
}
