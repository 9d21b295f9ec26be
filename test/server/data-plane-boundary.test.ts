import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { failedKeySource } from "../../src/abuse/failed-key-source.js";
import { parseClientIp } from "../../src/net/ip-allow-list.js";
import { DataPlaneBoundary } from "../../src/server/data-plane-boundary.js";

/**
 * Who passes the data plane's boundary (the running server: test/server/data-plane.test.ts), and
 * which failed-key budget a Check spends.
 */

const TOKEN = "dp-token-0123456789abcdefghijklmnopqrstuvwxyz";
const PREVIOUS = "dp-previous-0123456789abcdefghijklmnopqrstuvwxyz";
const ENVOY = "10.0.0.7";

/** Every constant-time comparison the boundary makes, to prove it compares with both tokens always. */
const comparisons = vi.hoisted(() => ({ count: 0 }));
vi.mock("node:crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof import("node:crypto")>();
  return {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      comparisons.count++;
      return crypto.timingSafeEqual(a, b);
    },
  };
});

describe("DataPlaneBoundary.admit", () => {
  const withToken = new DataPlaneBoundary({ token: TOKEN, ownListener: false });

  it.each<[string, string | undefined]>([
    ["no authorization", undefined],
    ["an empty one", ""],
    ["the token without its scheme", TOKEN],
    ["another scheme", `Basic ${TOKEN}`],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`],
    ["the token and more", `Bearer ${TOKEN}0`],
    ["the token twice, as repeated headers are joined", `Bearer ${TOKEN}, Bearer ${TOKEN}`],
    ["trailing text", `Bearer ${TOKEN} x`],
  ])("refuses %s with unauthenticated, without repeating it", (_, authorization) => {
    const refusal = withToken.admit(authorization, ENVOY, "Check");
    expect(refusal).toBeInstanceOf(ConnectError);
    expect((refusal as ConnectError).code).toBe(Code.Unauthenticated);
    expect((refusal as ConnectError).message).not.toContain(TOKEN.slice(0, 12));
  });

  it("admits the token, its scheme in any case", () => {
    expect(withToken.admit(`Bearer ${TOKEN}`, ENVOY, "Check")).toEqual({ passedBoundary: true, peer: ENVOY });
    expect(withToken.admit(`bearer ${TOKEN}`, undefined, "Check")).toEqual({ passedBoundary: true, peer: undefined });
  });

  it("with a listener of its own and no token, admits every caller of that listener as past the boundary", () => {
    const listener = new DataPlaneBoundary({ token: undefined, ownListener: true });
    expect(listener.configured).toBe(true);
    expect(listener.admit(undefined, ENVOY, "Check")).toEqual({ passedBoundary: true, peer: ENVOY });
  });

  it("with both, still needs the token", () => {
    const both = new DataPlaneBoundary({ token: TOKEN, ownListener: true });
    expect(both.admit(undefined, ENVOY, "Check")).toBeInstanceOf(ConnectError);
    expect(both.admit(`Bearer ${TOKEN}`, ENVOY, "Check")).toEqual({ passedBoundary: true, peer: ENVOY });
  });

  it("with neither, admits everyone, none of them past a boundary", () => {
    const open = new DataPlaneBoundary({ token: undefined, ownListener: false });
    expect(open.configured).toBe(false);
    expect(open.admit(`Bearer ${TOKEN}`, ENVOY, "Check")).toEqual({ passedBoundary: false, peer: ENVOY });
  });
});

describe("DataPlaneBoundary.admit while the token is rotated (KEYGATE_DATA_PLANE_TOKEN_PREVIOUS)", () => {
  function rotating(): { boundary: DataPlaneBoundary; counted: string[] } {
    const counted: string[] = [];
    const observer = { admittedWithPreviousToken: (method: string) => void counted.push(method) };
    return { boundary: new DataPlaneBoundary({ token: TOKEN, previousToken: PREVIOUS, ownListener: false, observer }), counted };
  }

  it("admits the current and the previous token, and counts only the previous one, by method", () => {
    const { boundary, counted } = rotating();
    expect(boundary.admit(`Bearer ${TOKEN}`, ENVOY, "Check")).toEqual({ passedBoundary: true, peer: ENVOY });
    expect(counted).toEqual([]);
    expect(boundary.admit(`Bearer ${PREVIOUS}`, ENVOY, "Check")).toEqual({ passedBoundary: true, peer: ENVOY });
    expect(boundary.admit(`bearer ${PREVIOUS}`, ENVOY, "StreamAccessLogs")).toEqual({ passedBoundary: true, peer: ENVOY });
    expect(counted).toEqual(["Check", "StreamAccessLogs"]);
  });

  it.each<[string, string | undefined]>([
    ["no authorization", undefined],
    ["the previous token without its scheme", PREVIOUS],
    ["a prefix of the previous token", `Bearer ${PREVIOUS.slice(0, -1)}`],
    ["the previous token and more", `Bearer ${PREVIOUS}0`],
    ["both tokens, as repeated headers are joined", `Bearer ${TOKEN}, Bearer ${PREVIOUS}`],
    ["another token", "Bearer another-token-0123456789abcdefghijklmnop"],
  ])("refuses %s with unauthenticated, repeating neither token, counting nothing", (_, authorization) => {
    const { boundary, counted } = rotating();
    const refusal = boundary.admit(authorization, ENVOY, "Check");
    expect(refusal).toBeInstanceOf(ConnectError);
    expect((refusal as ConnectError).code).toBe(Code.Unauthenticated);
    expect((refusal as ConnectError).message).not.toContain(TOKEN.slice(0, 12));
    expect((refusal as ConnectError).message).not.toContain(PREVIOUS.slice(0, 12));
    expect(counted).toEqual([]);
  });

  it("compares what was sent with both tokens, whichever matches, so the time taken does not tell which", () => {
    const { boundary } = rotating();
    for (const sent of [TOKEN, PREVIOUS, "another-token-0123456789abcdefghijklmnop"]) {
      comparisons.count = 0;
      boundary.admit(`Bearer ${sent}`, ENVOY, "Check");
      expect(comparisons.count, sent).toBe(2);
    }
  });

  it("is never built with a previous token and no current one, which would require no token at all", () => {
    expect(() => new DataPlaneBoundary({ token: undefined, previousToken: PREVIOUS, ownListener: true })).toThrow(/needs a current one/);
  });

  it("once the previous token is removed, refuses it", () => {
    const rotated = new DataPlaneBoundary({ token: TOKEN, ownListener: false });
    expect(rotated.admit(`Bearer ${PREVIOUS}`, ENVOY, "Check")).toBeInstanceOf(ConnectError);
  });
});

describe("failedKeySource", () => {
  const client = parseClientIp("203.0.113.9");

  it("behind a boundary is the client address, whichever Envoy asks", () => {
    expect(failedKeySource({ passedBoundary: true, peer: ENVOY }, client)).toBe("203.0.113.9");
    expect(failedKeySource({ passedBoundary: true, peer: "10.0.0.8" }, client)).toBe("203.0.113.9");
  });

  it("outside any boundary is the client address as seen from that peer", () => {
    const fromEnvoy = failedKeySource({ passedBoundary: false, peer: ENVOY }, client);
    const fromForger = failedKeySource({ passedBoundary: false, peer: "10.9.9.9" }, client);
    expect(fromEnvoy).not.toBe(fromForger);
    expect(fromEnvoy).not.toBe("203.0.113.9");
    // IPv6 peers are grouped by /64, as client addresses are: a forger cannot mint budgets from its prefix.
    expect(failedKeySource({ passedBoundary: false, peer: "2001:db8::1" }, client)).toBe(failedKeySource({ passedBoundary: false, peer: "2001:db8::2" }, client));
    expect(failedKeySource({ passedBoundary: false, peer: undefined }, null)).toBe("unknown from unknown");
  });
});
