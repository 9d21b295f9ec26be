import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BodyBudget } from "../../src/server/body-budget.js";
import { EnvelopeBoundaries } from "../../src/server/envelope-boundaries.js";
import { checker } from "../reliability/check-client.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * What request bodies can make keygate do. Bytes held by bodies that never finish: bounded per
 * connection and per process, the largest body reset past a bound and its memory released,
 * measured through the counter keygate exposes (GET /metrics), not the process's memory. And
 * JSON, slow to parse when deeply nested, kept small where anyone may send it.
 */

const MiB = 1024 * 1024;
const CHECK = "/envoy.service.auth.v3.Authorization/Check";

describe("BodyBudget", () => {
  it("resets the largest body of a connection past its bound, and the largest anywhere past the process's", () => {
    const budget = new BodyBudget({ maxBytesPerConnection: 100, maxBytesPerProcess: 150 });
    const reset: string[] = [];
    const a = {};
    const b = {};
    const a1 = budget.open(a, () => reset.push("a1"));
    const a2 = budget.open(a, () => reset.push("a2"));
    const b1 = budget.open(b, () => reset.push("b1"));
    expect(a1.hold(60)).toBe(true);
    expect(a2.hold(30)).toBe(true);
    expect(a2.hold(20)).toBe(true); // the connection holds 110: its largest, a1, goes
    expect(reset).toEqual(["a1"]);
    expect([a1.bytes, a2.bytes, budget.bytes]).toEqual([0, 50, 50]);
    expect(a1.hold(1)).toBe(false); // a reset body takes nothing more
    expect(b1.hold(90)).toBe(true);
    expect(a2.hold(20)).toBe(true); // the process holds 160: the largest body anywhere, b1's 90, goes
    expect(reset).toEqual(["a1", "b1"]);
    expect(budget.bytes).toBe(70);
    a2.release(30);
    a2.close();
    expect([budget.bytes, budget.resets]).toEqual([0, 2]);
  });

  it("a body that alone passes the bound is the one reset", () => {
    const budget = new BodyBudget({ maxBytesPerConnection: 100, maxBytesPerProcess: 1000 });
    let resets = 0;
    const ledger = budget.open({}, () => resets++);
    expect(ledger.hold(101)).toBe(false);
    expect([resets, budget.bytes]).toEqual([1, 0]);
  });
});

describe("EnvelopeBoundaries", () => {
  const envelope = (length: number) => {
    const bytes = Buffer.alloc(5 + length, 7);
    bytes[0] = 0;
    bytes.writeUInt32BE(length, 1);
    return bytes;
  };

  it("counts the bytes of each envelope once it is complete, however the stream is cut", () => {
    const stream = Buffer.concat([envelope(3), envelope(0), envelope(10)]);
    for (let cut = 1; cut <= stream.length; cut++) {
      const boundaries = new EnvelopeBoundaries();
      const completed: number[] = [];
      for (let offset = 0; offset < stream.length; offset += cut) completed.push(boundaries.completedBy(stream.subarray(offset, offset + cut)));
      expect(completed.reduce((a, b) => a + b, 0)).toBe(stream.length);
    }
    const boundaries = new EnvelopeBoundaries();
    expect(boundaries.completedBy(stream.subarray(0, 4))).toBe(0);
    expect(boundaries.completedBy(stream.subarray(4, 13))).toBe(8 + 5); // the first two envelopes
    expect(boundaries.completedBy(stream.subarray(13, 20))).toBe(0);
    expect(boundaries.completedBy(stream.subarray(20))).toBe(15);
  });
});

/** keygate's own count of held body bytes and resets, from GET /metrics. */
async function held(url: string): Promise<{ bytes: number; resets: number } | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const bytes = /^keygate_request_body_buffered_bytes (\d+)$/m.exec(text)?.[1];
  const resets = /^keygate_request_body_resets_total (\d+)$/m.exec(text)?.[1];
  return bytes === undefined || resets === undefined ? undefined : { bytes: Number(bytes), resets: Number(resets) };
}

/** Polls `read` until `done` holds for its value (or 10 s pass, then fails); every value read is checked by `always`. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, always: (value: T) => void = () => {}): Promise<T> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const value = await read();
    always(value);
    if (done(value)) return value;
    if (performance.now() > deadline) throw new Error(`condition not reached; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Unfinished {
  /** Resolves once everything was written (or the stream was reset first). */
  written: Promise<void>;
  /** The RST_STREAM code once closed, undefined while open. */
  rstCode(): number | undefined;
}

/** A gRPC Check that promises a 4 MiB message, sends `bytes` of it, and never ends. */
function unfinishedCheck(session: http2.ClientHttp2Session, bytes: number): Unfinished {
  const stream = session.request({ ":method": "POST", ":path": CHECK, "content-type": "application/grpc", te: "trailers" });
  let closedWith: number | undefined;
  stream.on("error", () => {});
  stream.on("close", () => (closedWith = stream.rstCode));
  stream.resume();
  const header = Buffer.alloc(5);
  header.writeUInt32BE(4 * MiB, 1);
  const written = new Promise<void>((resolve) => {
    stream.once("close", () => resolve());
    stream.write(Buffer.concat([header, Buffer.alloc(bytes - 5, 1)]), () => resolve());
  });
  return { written, rstCode: () => closedWith };
}

describe("unfinished request bodies on a running keygate", () => {
  const PER_CONNECTION = 6 * MiB;
  const PER_PROCESS = 8 * MiB;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION: String(PER_CONNECTION), KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS: String(PER_PROCESS) },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const withinBounds = (value: { bytes: number } | undefined) => expect(value?.bytes ?? 0).toBeLessThanOrEqual(PER_PROCESS);

  it("HTTP/2: Check streams that send 2 MiB each and never end hold at most the connection's bound; the largest is reset", async () => {
    const session = http2.connect(t.app.url);
    session.on("error", () => {});
    try {
      const streams = Array.from({ length: 4 }, () => unfinishedCheck(session, 2 * MiB));
      await Promise.all(streams.map((s) => s.written));
      const open = () => streams.filter((s) => s.rstCode() === undefined).length;
      // Once the server has read everything, it holds exactly what the streams it did not reset sent.
      const settled = await until(
        () => held(t.app.url),
        (value) => value !== undefined && value.bytes === open() * 2 * MiB,
        (value) => expect(value?.bytes ?? 0).toBeLessThanOrEqual(PER_CONNECTION),
      );
      expect(settled!.resets).toBeGreaterThanOrEqual(1);
      expect(streams.filter((s) => s.rstCode() === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)).toHaveLength(4 - open());
      expect(open()).toBeGreaterThanOrEqual(2);
    } finally {
      session.destroy();
    }
    // Gone with their connection: nothing is held any more.
    await until(() => held(t.app.url), (value) => value?.bytes === 0);
  });

  it("HTTP/2: across connections the process's bound holds, and other clients' Checks are still served", async () => {
    const sessions = Array.from({ length: 5 }, () => {
      const session = http2.connect(t.app.url);
      session.on("error", () => {});
      return session;
    });
    try {
      const streams = sessions.map((session) => unfinishedCheck(session, 2 * MiB));
      await Promise.all(streams.map((s) => s.written));
      const open = () => streams.filter((s) => s.rstCode() === undefined).length;
      const settled = await until(() => held(t.app.url), (value) => value !== undefined && value.bytes === open() * 2 * MiB, withinBounds);
      expect(settled!.bytes).toBeLessThanOrEqual(PER_PROCESS);
      expect(open()).toBeLessThan(5);
      // A Check of a few hundred bytes from someone else still fits.
      expect(await checker(t.app.url)("sk_live_unknown")).toBe("API_KEY_INVALID");
    } finally {
      for (const session of sessions) session.destroy();
    }
    await until(() => held(t.app.url), (value) => value?.bytes === 0);
  });

  it("HTTP/1.1 (Connect): bodies that never finish count too; past the process's bound the largest loses its connection", async () => {
    const { hostname, port } = new URL(t.app.url);
    const requests = Array.from({ length: 3 }, () => {
      let closed = false;
      const req = http.request({ host: hostname, port, method: "POST", path: CHECK, headers: { "content-type": "application/json", "content-length": String(4 * MiB) } });
      req.on("error", () => {});
      req.on("close", () => (closed = true));
      const written = new Promise<void>((resolve) => {
        req.once("close", () => resolve());
        req.write(Buffer.alloc(3 * MiB, 0x20), () => resolve());
      });
      return { req, written, closed: () => closed };
    });
    try {
      await Promise.all(requests.map((r) => r.written));
      const open = () => requests.filter((r) => !r.closed()).length;
      const settled = await until(() => held(t.app.url), (value) => value !== undefined && value.bytes === open() * 3 * MiB, withinBounds);
      expect(open()).toBeLessThan(3);
      expect(settled!.resets).toBeGreaterThanOrEqual(1);
    } finally {
      for (const { req } of requests) req.destroy();
    }
    await until(() => held(t.app.url), (value) => value?.bytes === 0);
  });
});

describe("JSON bodies to services anyone may call", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** POSTs the headers and `sent` of a body of `declared` bytes; the answer keygate gives without the rest. */
  function answerBeforeBody(path: string, contentType: string, declared: number, sent: Buffer): Promise<{ status: number; body: string; grpcStatus?: string }> {
    const { hostname, port } = new URL(t.app.url);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: hostname, port, method: "POST", path, headers: { "content-type": contentType, "content-length": String(declared) } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body, grpcStatus: res.headers["grpc-status"] as string | undefined });
          req.destroy();
        });
      });
      req.on("error", reject);
      req.flushHeaders();
      req.write(sent);
    });
  }

  it("a 4 MB deeply nested JSON Check is refused before it is read, not parsed for seconds", async () => {
    const nested = Buffer.from("[".repeat(32 * 1024));
    const answer = await answerBeforeBody(CHECK, "application/json", 4 * MiB, nested);
    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "resource_exhausted" });
    expect((JSON.parse(answer.body) as { message: string }).message).toContain("65536");
  });

  it("the same in a gRPC-Web JSON envelope: refused from the envelope's length", async () => {
    const envelope = Buffer.alloc(5);
    envelope.writeUInt32BE(4 * MiB, 1);
    const answer = await answerBeforeBody(CHECK, "application/grpc-web+json", 4 * MiB + 5, Buffer.concat([envelope, Buffer.from("[".repeat(1024))]));
    expect(answer.grpcStatus ?? /grpc-status:\s*(\d+)/.exec(answer.body)?.[1]).toBe("8"); // RESOURCE_EXHAUSTED
  });

  it("binary Checks keep the 4 MiB message limit, and small JSON Checks are answered", async () => {
    const small = await fetch(`${t.app.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ attributes: {} }) });
    expect(small.status).toBe(200);
    // A 1 MiB binary message (an unknown field the decoder skips) is far within the limit.
    const session = http2.connect(t.app.url);
    session.on("error", () => {});
    try {
      const payload = Buffer.alloc(MiB);
      const field = Buffer.from([0xfa, 0x3f, 0x80, 0x80, 0x40]); // field 1023, length-delimited, 1 MiB
      const message = Buffer.concat([field, payload]);
      const envelope = Buffer.alloc(5);
      envelope.writeUInt32BE(message.length, 1);
      const status = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": CHECK, "content-type": "application/grpc", te: "trailers" });
        stream.on("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
        stream.on("error", reject);
        stream.resume();
        stream.end(Buffer.concat([envelope, message]));
      });
      expect(status).toBe("0");
    } finally {
      session.destroy();
    }
  });
});
