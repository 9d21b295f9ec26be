import type { ExtraHandler } from "./http-server.js";
import type { Metrics } from "../metrics/metrics.js";

export const METRICS_PATH = "/metrics";

interface PlainResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string): unknown;
}

/** GET /metrics: the app's registry in Prometheus text format. */
export function metricsEndpoint(metrics: Metrics): ExtraHandler {
  return (req, res) => {
    if ((req.url ?? "").split("?")[0] !== METRICS_PATH) return false;
    const response = res as unknown as PlainResponse;
    if (req.method !== "GET" && req.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      response.end("method not allowed\n");
      return true;
    }
    metrics.scrape().then(
      ({ contentType, text }) => {
        response.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
        response.end(req.method === "HEAD" ? undefined : text);
      },
      () => {
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
        response.end("metrics collection failed\n");
      },
    );
    return true;
  };
}
