import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.js";

describe("logger", () => {
  it("censors credentials and idempotency keys in logged headers", () => {
    const lines: string[] = [];
    const logger = createLogger("info", new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
    const headers = { authorization: "Bearer sk_live_x", "x-api-key": "sk_live_y", "idempotency-key": "retry-7f3a" };
    logger.info({ headers, request: { headers } }, "request");
    for (const value of Object.values(headers)) expect(lines.join("")).not.toContain(value);
    expect(lines.join("")).toContain("[redacted]");
  });

  it("names the level (\"level\":\"warn\"), as log pipelines read a severity, and adds no trace fields outside a span", () => {
    const lines: string[] = [];
    const logger = createLogger("info", new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
    logger.warn("careful");
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: "warn", msg: "careful", service: "keygate" });
    expect(line).not.toHaveProperty("trace_id");
  });
});
