import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { dnsResolver } from "../../../src/webhooks/dns-resolver.js";

/** The name a DNS query asks for (RFC 1035 4.1.2: labels from byte 12), and its type (A 1, AAAA 28). */
function question(packet: Buffer): { name: string; type: number } {
  const labels: string[] = [];
  let at = 12;
  while (packet[at]! > 0) {
    labels.push(packet.subarray(at + 1, at + 1 + packet[at]!).toString("ascii"));
    at += 1 + packet[at]!;
  }
  return { name: labels.join("."), type: packet.readUInt16BE(at + 1) };
}

describe("dnsResolver", () => {
  let server: Socket | undefined;
  afterEach(() => server?.close());

  it("asks the name server itself (c-ares, no thread pool) for A and AAAA, and gives up on one that drops queries", async () => {
    // A name server that never answers: getaddrinfo on the thread pool would hold a thread for it.
    server = createSocket("udp4");
    const asked: { name: string; type: number }[] = [];
    server.on("message", (packet: Buffer) => asked.push(question(packet)));
    server.bind(0, "127.0.0.1");
    await once(server, "listening");
    const resolve = dnsResolver({ servers: [`127.0.0.1:${(server.address() as AddressInfo).port}`], timeoutMs: 50, tries: 1 });
    expect(await resolve("hooks.example.test.")).toEqual([]);
    expect(asked.map((q) => q.name)).toEqual(["hooks.example.test", "hooks.example.test"]);
    expect(asked.map((q) => q.type).sort((a, b) => a - b)).toEqual([1, 28]);
  });
});
