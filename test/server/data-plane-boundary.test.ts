import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { failedKeySource } from "../../src/abuse/failed-key-source.js";
import { parseClientIp } from "../../src/authz/ip-allow-list.js";
import { DataPlaneBoundary } from "../../src/server/data-plane-boundary.js";

/**
 * Who passes the data plane's boundary (the running server: test/server/data-plane.test.ts), and
 * which failed-key budget a Check spends.
 */

const TOKEN = "dp-token-0123456789abcdefghijklmnopqrstuvwxyz";
const ENVOY = "10.0.0.7";

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
    const refusal = withToken.admit(authorization, ENVOY);
    expect(refusal).toBeInstanceOf(ConnectError);
    expect((refusal as ConnectError).code).toBe(Code.Unauthenticated);
    expect((refusal as ConnectError).message).not.toContain(TOKEN.slice(0, 12));
  });

  it("admits the token, its scheme in any case", () => {
    expect(withToken.admit(`Bearer ${TOKEN}`, ENVOY)).toEqual({ passedBoundary: true, peer: ENVOY });
    expect(withToken.admit(`bearer ${TOKEN}`, undefined)).toEqual({ passedBoundary: true, peer: undefined });
  });

  it("with a listener of its own and no token, admits every caller of that listener as past the boundary", () => {
    const listener = new DataPlaneBoundary({ token: undefined, ownListener: true });
    expect(listener.configured).toBe(true);
    expect(listener.admit(undefined, ENVOY)).toEqual({ passedBoundary: true, peer: ENVOY });
  });

  it("with both, still needs the token", () => {
    const both = new DataPlaneBoundary({ token: TOKEN, ownListener: true });
    expect(both.admit(undefined, ENVOY)).toBeInstanceOf(ConnectError);
    expect(both.admit(`Bearer ${TOKEN}`, ENVOY)).toEqual({ passedBoundary: true, peer: ENVOY });
  });

  it("with neither, admits everyone, none of them past a boundary", () => {
    const open = new DataPlaneBoundary({ token: undefined, ownListener: false });
    expect(open.configured).toBe(false);
    expect(open.admit(`Bearer ${TOKEN}`, ENVOY)).toEqual({ passedBoundary: false, peer: ENVOY });
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
