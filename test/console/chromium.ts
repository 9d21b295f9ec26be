import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/**
 * Debian's Chromium, driven by playwright-core (no browser download). When /usr/bin/chromium is
 * missing the Debian package is installed, as .ci/run also does, refreshing the package lists
 * only when the first attempt fails.
 */

export const CHROMIUM = "/usr/bin/chromium";

/** Without the background-networking flags Chromium keeps dialling Google on a closed network. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

function aptGet(args: string[]): boolean {
  const asRoot = process.getuid?.() === 0;
  const [command, argv] = asRoot ? ["apt-get", args] : ["sudo", ["-n", "apt-get", ...args]];
  const result = spawnSync(command, argv, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 900_000 });
  return result.status === 0;
}

export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (!aptGet(["install", "-y", "chromium"])) {
    aptGet(["update"]);
    aptGet(["install", "-y", "chromium"]);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing and installing Debian's chromium package failed (run apt-get install -y chromium as root)`);
  return CHROMIUM;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
