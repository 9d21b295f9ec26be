import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { transpiledSources, type TranspiledSources } from "../support/transpiled.js";
import { startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.js";

/**
 * A real keygate process (`node …/src/main.js`) configured for tracing only by OTEL_* variables:
 * it says so at start, and on SIGTERM it exports the spans it still holds before it exits 0. The
 * batch processor's delay is set far beyond the test, so only the shutdown can have sent them.
 */

const TRACE = "5b8efff798038103d269b633813fc60c";
const PARENT = "eee19b7ec3c1b174";

let sources: TranspiledSources | undefined;
let receiver: OtlpReceiver;

beforeAll(async () => {
  sources = await transpiledSources("tracing-shutdown-test");
  receiver = await startOtlpReceiver();
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await sources?.remove();
});

/** Starts keygate and resolves with the port it listens on and its log lines so far (they keep coming). */
async function startKeygate(): Promise<{ child: ChildProcess; port: number; lines: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, [join(sources!.dir, "src", "main.js")], {
    env: {
      PATH: process.env["PATH"] ?? "",
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      KEYGATE_DEMO_BOOTSTRAP: "false",
      KEYGATE_PEPPER: "test-pepper-0123456789abcdef-0123456789abcdef",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "3600000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const errors: string[] = [];
  child.stderr!.setEncoding("utf8").on("data", (text: string) => errors.push(text));
  const lines: Record<string, unknown>[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`keygate exited (${code}) before listening:\n${errors.join("")}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      if (entry.msg === "keygate listening") {
        child.removeAllListeners("exit");
        resolve(entry.port as number);
      }
    });
  });
  return { child, port, lines };
}

describe("tracing in a real keygate process", () => {
  it("starts from OTEL_* variables and exports the last spans on SIGTERM before exiting 0", async () => {
    const { child, port, lines } = await startKeygate();
    expect(lines.some((line) => line.msg === "OpenTelemetry tracing on (OTEL_* variables)")).toBe(true);
    const check = createClient(Authorization, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    await check.check({
      attributes: { request: { http: { method: "GET", path: "/v1/machines", headers: { ":path": "/v1/machines", traceparent: `00-${TRACE}-${PARENT}-01` } } } },
    });
    expect(receiver.spans).toEqual([]);
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(receiver.spans.find((span) => span.traceId === TRACE)).toMatchObject({
      parentSpanId: PARENT,
      serviceName: "keygate",
      attributes: { "keygate.decision": "deny", "keygate.reason": "API_KEY_MISSING" },
    });
  });
});
