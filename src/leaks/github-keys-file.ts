import { readFile, stat } from "node:fs/promises";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../log/logger.js";
import { parseGithubPublicKeys, type GithubPublicKeys } from "./github-public-keys.js";

/**
 * KEYGATE_SECRET_SCANNING_KEYS_FILE, re-read when it changes, so an operator refreshes it from
 * GitHub's published keys with a cron job (docs/secret-scanning.md) and no restart. The file is
 * looked at (one stat) when a report arrives, not watched: reports are rare, and a stat sees a
 * file replaced by rename, which watchers miss. A file that no longer parses is not taken: the keys
 * read last stay, and the failure is logged once, so a botched refresh does not refuse every report.
 */
export class GithubKeysFile {
  readonly #path: string;
  readonly #logger: Logger;
  #keys: GithubPublicKeys;
  #version: string;

  private constructor(path: string, logger: Logger, keys: GithubPublicKeys, version: string) {
    this.#path = path;
    this.#logger = logger;
    this.#keys = keys;
    this.#version = version;
  }

  /** Reads the file now; a missing or invalid file fails (keygate does not start without its keys). */
  static async open(path: string, logger: Logger): Promise<GithubKeysFile> {
    try {
      const version = await versionOf(path);
      return new GithubKeysFile(path, logger, parseGithubPublicKeys(await readFile(path, "utf8")), version);
    } catch (error) {
      throw new ConfigError("KEYGATE_SECRET_SCANNING_KEYS_FILE", `${path}: ${(error as Error).message}`);
    }
  }

  /** The keys, re-read first if the file changed since they were read. */
  async current(): Promise<GithubPublicKeys> {
    try {
      const version = await versionOf(this.#path);
      if (version !== this.#version) {
        // Taken as seen before parsing, so a broken file is reported once, not on every report.
        this.#version = version;
        this.#keys = parseGithubPublicKeys(await readFile(this.#path, "utf8"));
        this.#logger.info({ keys: [...this.#keys.keys()] }, "secret-scanning keys file re-read");
      }
    } catch (error) {
      this.#logger.warn({ err: error, path: this.#path }, "secret-scanning keys file not re-read; keeping the keys read last");
    }
    return this.#keys;
  }
}

// Replacing the file by rename changes the inode; rewriting it in place, the time or the size.
async function versionOf(path: string): Promise<string> {
  const stats = await stat(path, { bigint: true });
  return `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
}
