import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { WatchUsageResponse } from "../../gen/keygate/v1/key_admin_pb.js";
import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { describe } from "./errors.js";
import { formatCount } from "./format.js";

/**
 * A live usage panel fed by WatchUsage: today's counters, and the latest batches as they arrive.
 * The stream reconnects with a growing pause; it stops when the page is left (the signal) or when
 * the server cannot serve it at all (not implemented, not allowed).
 */

const RETRY_MS = [1_000, 2_000, 5_000, 10_000];
const FEED_LENGTH = 8;
const REFRESH_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `onUsage` runs (at most every few seconds) after events that carried new usage, to refresh figures. */
export function livePanel(keyId: string, signal: AbortSignal, onUsage?: () => void): HTMLElement {
  let refresh: number | undefined;
  const usageArrived = () => {
    if (!onUsage || refresh !== undefined) return;
    refresh = window.setTimeout(() => {
      refresh = undefined;
      if (!signal.aborted) onUsage();
    }, REFRESH_MS);
  };
  const state = h("p", { class: "live-state", "data-testid": "live-state" }, "Connecting…");
  const allowed = h("strong", { "data-testid": "live-allowed" }, "0");
  const denied = h("strong", { "data-testid": "live-denied" }, "0");
  const limited = h("strong", { "data-testid": "live-rate-limited" }, "0");
  const feed = h("ol", { class: "feed", "aria-label": "Latest usage", "data-testid": "live-feed" });
  const panel = h(
    "section",
    { class: "card live", "aria-labelledby": `live-${keyId || "org"}` },
    h("h2", { id: `live-${keyId || "org"}` }, "Live usage ", h("span", { class: "dot", "aria-hidden": "true" })),
    state,
    h("p", { class: "counters", "aria-live": "polite" }, "Today: ", allowed, " allowed · ", denied, " denied · ", limited, " rate limited"),
    feed,
  );

  const show = (event: WatchUsageResponse) => {
    const today = event.today;
    if (today) {
      allowed.textContent = formatCount(today.allowed);
      denied.textContent = formatCount(today.denied);
      limited.textContent = formatCount(today.rateLimited);
    }
    const since = event.sinceLast;
    if (!since || since.allowed + since.denied + since.rateLimited === 0n) return;
    usageArrived();
    const at = event.observedAt ? timestampDate(event.observedAt).toISOString().slice(11, 19) : "";
    const endpoints = event.endpoints.slice(0, 3).map((e) => `${e.method} ${e.path} ×${formatCount(e.count)}`);
    feed.prepend(
      h(
        "li",
        null,
        h("time", null, at),
        ` +${formatCount(since.allowed)} allowed, +${formatCount(since.denied)} denied, +${formatCount(since.rateLimited)} rate limited`,
        endpoints.length > 0 && h("span", { class: "hint" }, ` — ${endpoints.join(", ")}`),
      ),
    );
    while (feed.children.length > FEED_LENGTH) feed.lastElementChild?.remove();
  };

  void (async () => {
    let attempt = 0;
    while (!signal.aborted) {
      try {
        for await (const event of api.watchUsage({ keyId }, { signal })) {
          attempt = 0;
          panel.classList.add("connected");
          replaceChildren(state, `Live · last update ${new Date().toISOString().slice(11, 19)} UTC`);
          show(event);
        }
        // The server ended the stream (e.g. it is shutting down): reconnect after a pause.
        await sleep(RETRY_MS[0]!);
      } catch (error) {
        if (signal.aborted) return;
        panel.classList.remove("connected");
        const code = error instanceof ConnectError ? error.code : undefined;
        const problem = describe(error);
        if (code === Code.Unimplemented || code === Code.PermissionDenied || code === Code.Unauthenticated || code === Code.NotFound) {
          replaceChildren(state, h("span", { role: "alert", class: "error-text" }, `Live updates are off: ${problem.message}`));
          return;
        }
        const pause = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!;
        replaceChildren(state, `Disconnected (${problem.message}) Retrying in ${pause / 1000} s…`);
        await sleep(pause);
      }
    }
  })();
  return panel;
}
