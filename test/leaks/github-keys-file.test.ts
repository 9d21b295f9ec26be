import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { GithubKeysFile } from "../../src/leaks/github-keys-file.js";
import { createLogger } from "../../src/log/logger.js";
import { GithubReportSigner } from "./github-report-signer.js";

function capturedLogger() {
  const lines: string[] = [];
  const logger = createLogger("info", new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
  return { lines, logger };
}

const tempFile = () => join(mkdtempSync(join(tmpdir(), "keygate-leaks-")), "secret-scanning-keys.json");

describe("GithubKeysFile", () => {
  it("reads the file at open, and fails the start naming the setting when it is missing or invalid", async () => {
    const path = tempFile();
    const github = new GithubReportSigner("first");
    writeFileSync(path, github.keysFile());
    const file = await GithubKeysFile.open(path, capturedLogger().logger);
    expect([...(await file.current()).keys()]).toEqual(["first"]);

    await expect(GithubKeysFile.open(`${path}.missing`, capturedLogger().logger)).rejects.toThrow(ConfigError);
    writeFileSync(path, "{}");
    await expect(GithubKeysFile.open(path, capturedLogger().logger)).rejects.toThrow(/KEYGATE_SECRET_SCANNING_KEYS_FILE: .*"public_keys"/);
  });

  it("takes the new keys once the file is replaced by rename, as a cron job's refresh does", async () => {
    const path = tempFile();
    writeFileSync(path, new GithubReportSigner("first").keysFile());
    const file = await GithubKeysFile.open(path, capturedLogger().logger);
    writeFileSync(`${path}.new`, new GithubReportSigner("second").keysFile(new GithubReportSigner("first")));
    renameSync(`${path}.new`, path);
    expect([...(await file.current()).keys()]).toEqual(["second", "first"]);
  });

  it("takes the new keys once the file is rewritten in place", async () => {
    const path = tempFile();
    writeFileSync(path, new GithubReportSigner("first").keysFile());
    const file = await GithubKeysFile.open(path, capturedLogger().logger);
    // A different size, so the change shows whatever the file system's time resolution.
    writeFileSync(path, new GithubReportSigner("a-longer-second-identifier").keysFile());
    expect([...(await file.current()).keys()]).toEqual(["a-longer-second-identifier"]);
  });

  it("keeps the keys read last when the new file does not parse, and says so once", async () => {
    const path = tempFile();
    writeFileSync(path, new GithubReportSigner("first").keysFile());
    const { lines, logger } = capturedLogger();
    const file = await GithubKeysFile.open(path, logger);
    writeFileSync(path, '{"public_keys": "truncated by a failed download"}');
    expect([...(await file.current()).keys()]).toEqual(["first"]);
    expect([...(await file.current()).keys()]).toEqual(["first"]);
    expect(lines.filter((line) => line.includes("keeping the keys read last"))).toHaveLength(1);

    writeFileSync(path, new GithubReportSigner("repaired").keysFile());
    expect([...(await file.current()).keys()]).toEqual(["repaired"]);
  });
});
