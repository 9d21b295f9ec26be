import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction, Socket } from "node:net";
import { isPublicAddress } from "../net/public-address.js";
import { answerExcerpt } from "./answer-excerpt.js";
import { dnsResolver, type Resolver } from "./dns-resolver.js";
import { checkWebhookTarget } from "./webhook-target.js";

/**
 * One delivery attempt: a single HTTP POST of the event's JSON to the endpoint, and what came of
 * it. The target is the tenant's choice, so the attempt is fenced:
 *  - the URL is checked again (settings may have changed since it was stored);
 *  - the name is resolved by `lookup` below, which refuses it when any address it resolves to is
 *    not public, so no connection is even attempted. It is resolved as an absolute name (a
 *    trailing dot), so the host's search domains (Kubernetes' `svc.cluster.local`) never turn a
 *    tenant's `mongo-0.mongo` into an internal service; and a name that does not resolve gets the
 *    same error as one that resolves to an internal address, so a tenant cannot map our internal
 *    names by which error comes back. Once connected the peer's address is checked again, so a
 *    name cannot rebind between the check and the connection (and nothing
 *    that skips the lookup, such as a literal address, escapes the check). That check runs
 *    before the request is written (the 'socket' event comes before the request flushes to it),
 *    so a refused peer gets no byte of it (over https, at most the TLS client hello);
 *  - redirects are not followed (a 3xx is a failure: following one would leave the checked URL);
 *  - the whole attempt, connection to answer, has one deadline (10 s);
 *  - at most ANSWER_READ_BYTES of the answer are read, and only a short excerpt is kept.
 * Each attempt has a connection of its own (no agent), so a connection checked for one target
 * never carries another's request.
 */

export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
const ANSWER_READ_BYTES = 1024;
const USER_AGENT = "keygate-webhooks/1 (+https://www.standardwebhooks.com)";

export type { ResolvedAddress, Resolver } from "./dns-resolver.js";

export interface SendOutcome {
  /** True on a 2xx answer. */
  ok: boolean;
  /** The answer's status; 0 when there was none. */
  responseCode: number;
  /** Empty when ok; otherwise an excerpt of the answer, or what went wrong, never a secret. */
  error: string;
}

export interface WebhookSenderOptions {
  /** KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: http://, and addresses that are not public. */
  allowInsecure: boolean;
  timeoutMs?: number;
  /** DNS (dns-resolver.ts) by default; tests inject one. */
  resolve?: Resolver;
  /** Whether an address may be connected to; by default any when allowInsecure, else public ones. */
  addressAllowed?: (address: string) => boolean;
}

const NOT_PUBLIC = "target refused: the host name does not resolve to a public address";

/** The name with a trailing dot: resolved as it is, never under a search domain. */
const absolute = (hostname: string): string => (hostname.endsWith(".") ? hostname : `${hostname}.`);

class RefusedTarget extends Error {
  override name = "RefusedTarget";
}

export class WebhookSender {
  readonly #allowInsecure: boolean;
  readonly #timeoutMs: number;
  readonly #resolve: Resolver;
  readonly #addressAllowed: (address: string) => boolean;

  constructor(options: WebhookSenderOptions) {
    this.#allowInsecure = options.allowInsecure;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    this.#resolve = options.resolve ?? dnsResolver();
    this.#addressAllowed = options.addressAllowed ?? ((address) => options.allowInsecure || isPublicAddress(address));
  }

  /** POSTs `body` with `headers` (the signature's) to `url`; never rejects. */
  async send(url: string, headers: Readonly<Record<string, string>>, body: string): Promise<SendOutcome> {
    const target = checkWebhookTarget(url, { allowInsecure: this.#allowInsecure });
    if (!target.ok) return failure(0, `target refused: url ${target.problem}`);
    const parsed = new URL(target.url);
    const request = parsed.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        req.destroy();
        resolve(outcome);
      };
      const req: ClientRequest = request(parsed, {
        method: "POST",
        agent: false,
        lookup: this.#lookup,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": USER_AGENT,
        },
      });
      let onDeadline = () => finish(failure(0, `timed out after ${this.#timeoutMs / 1000} s`));
      const deadline = setTimeout(() => onDeadline(), this.#timeoutMs);
      req.on("socket", (socket: Socket) => {
        const checkPeer = () => {
          const peer = socket.remoteAddress;
          if (peer === undefined || !this.#addressAllowed(peer)) req.destroy(new RefusedTarget("target refused: connected to an address that is not public"));
        };
        if (socket.connecting) socket.once("connect", checkPeer);
        else checkPeer();
      });
      req.on("error", (error) => finish(failure(0, networkError(error))));
      req.on("response", (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        // The status is the answer: a 2xx counts however its body goes on, and a redirect's body is
        // not needed. A failure's body is read for its excerpt, up to ANSWER_READ_BYTES and within
        // the same deadline; what came by then is kept, even if the rest never does.
        if (status < 400) return finish(outcomeOf(status, ""));
        const chunks: Buffer[] = [];
        let bytes = 0;
        const answered = () => finish(outcomeOf(status, Buffer.concat(chunks).subarray(0, ANSWER_READ_BYTES).toString("utf8")));
        onDeadline = answered;
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          bytes += chunk.length;
          if (bytes >= ANSWER_READ_BYTES) answered();
        });
        res.on("end", answered);
        res.on("error", answered);
      });
      req.end(body);
    });
  }

  /**
   * net.connect's lookup: the resolver's addresses, or a refusal when any of them is not allowed or
   * there are none (one message for both, see above).
   */
  readonly #lookup: LookupFunction = (hostname, options, callback) => {
    const refuse = () => callback(new RefusedTarget(NOT_PUBLIC), "", 0);
    this.#resolve(absolute(hostname)).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0 || wanted.some((a) => !this.#addressAllowed(a.address))) return refuse();
        if (options.all) return callback(null, wanted);
        return callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      refuse,
    );
  };
}

const failure = (responseCode: number, error: string): SendOutcome => ({ ok: false, responseCode, error });

function outcomeOf(status: number, answer: string): SendOutcome {
  if (status >= 200 && status < 300) return { ok: true, responseCode: status, error: "" };
  if (status >= 300 && status < 400) return failure(status, `redirect not followed (answered ${status})`);
  return failure(status, answerExcerpt(answer) || `answered ${status}`);
}

/** What a failed connection or exchange says: our own refusals as they are, others by their message. */
function networkError(error: unknown): string {
  if (error instanceof RefusedTarget) return error.message;
  const { code, message } = error as { code?: string; message?: string };
  return answerExcerpt(message || code || "request failed");
}
