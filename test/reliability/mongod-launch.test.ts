import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { packageRoot } from "../../src/console/package-root.js";
import { launchBounded, launchRetryingEarlyExits } from "../support/mongod-launch.js";

/**
 * The suite's mongod starts: one that closes as it starts is started again, anything else is
 * reported at once, and the whole start is given up at one bound, the late server stopped.
 */

const closedAtStart = () => new Error('Instance closed unexpectedly with code "1" and signal "null"');

afterEach(() => {
  vi.useRealTimers();
});

describe("starting a test mongod", () => {
  it("starts again after an early close, up to three starts", async () => {
    vi.useFakeTimers();
    let starts = 0;
    const started = launchRetryingEarlyExits(async () => {
      starts += 1;
      if (starts < 3) throw closedAtStart();
      return "mongod";
    });
    await vi.runAllTimersAsync();
    await expect(started).resolves.toBe("mongod");
    expect(starts).toBe(3);
  });

  it("reports a third early close, and any other failure at once", async () => {
    vi.useFakeTimers();
    let starts = 0;
    const always = launchRetryingEarlyExits(async () => {
      starts += 1;
      throw closedAtStart();
    });
    const rejected = expect(always).rejects.toThrow(/closed unexpectedly/);
    await vi.runAllTimersAsync();
    await rejected;
    expect(starts).toBe(3);

    let otherStarts = 0;
    await expect(
      launchRetryingEarlyExits(async () => {
        otherStarts += 1;
        throw new Error("launch timeout");
      }),
    ).rejects.toThrow("launch timeout");
    expect(otherStarts).toBe(1);
  });

  it("gives up a start at the bound, saying so, and stops the server that comes up late", async () => {
    vi.useFakeTimers();
    let comesUp!: (server: string) => void;
    const stopped: string[] = [];
    const started = launchBounded("a slow mongod", () => new Promise<string>((resolve) => (comesUp = resolve)), async (late) => void stopped.push(late), 5_000);
    const rejected = expect(started).rejects.toThrow("a slow mongod did not start within 5000 ms (MONGOD_START_TIMEOUT_MS");
    await vi.advanceTimersByTimeAsync(5_000);
    await rejected;
    comesUp("mongod");
    await vi.waitFor(() => expect(stopped).toEqual(["mongod"]));
  });

  it("gives a start within the bound its server, and stops nothing", async () => {
    const stopped: string[] = [];
    await expect(launchBounded("a mongod", async () => "mongod", async (late) => void stopped.push(late), 5_000)).resolves.toBe("mongod");
    expect(stopped).toEqual([]);
  });

  it("is the only way test/ and bench/ start or restart a mongod", () => {
    const root = packageRoot();
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
      );
    // The library's own starts, a restart of one of its servers, the shared tools' start script.
    const ownStart = /MongoMemory(Server|ReplSet)\s*\.\s*create|new MongoMemory(Server|ReplSet)\b|\.start\(\s*true\s*\)|mongod\/start\b|"mongod",\s*"start"/;
    const helper = join("test", "support", "mongod-launch.ts");
    const offenders = [...sources(join(root, "test")), ...sources(join(root, "bench"))]
      .map((file) => relative(root, file))
      .filter((file) => file !== helper && ownStart.test(readFileSync(join(root, file), "utf8")));
    expect(offenders).toEqual([]);
  });
});
