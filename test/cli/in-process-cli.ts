import { expect } from "vitest";
import type { CommandIo } from "../../src/cli/command.js";
import { runCli } from "../../src/cli/main.js";
import type { TestApp } from "../support/app.js";

export interface Run {
  code: number;
  out: string;
  err: string;
}

export interface CliOptions {
  /** Added to (or, undefined, taken from) the environment: KEYGATE_URL and KEYGATE_ADMIN_KEY of the app's admin. */
  env?: Record<string, string | undefined>;
  stdin?: string;
}

/** The `keygate` command run in this process against a test app, as its admin, keeping what it prints. */
export function cliAgainst(app: () => TestApp) {
  async function cli(args: string[], options: CliOptions = {}): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const t = app();
    const io: CommandIo = {
      env: { KEYGATE_URL: t.app.url, KEYGATE_ADMIN_KEY: t.admin.secret, ...options.env },
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      ...(options.stdin !== undefined && { readStdin: async () => options.stdin! }),
    };
    const code = await runCli(args, io);
    return { code, out: out.join(""), err: err.join("") };
  }

  /** A command with --json that must succeed, its output parsed. */
  async function json<T>(args: string[], options: CliOptions = {}): Promise<T> {
    const run = await cli([...args, "--json"], options);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    return JSON.parse(run.out) as T;
  }

  return { cli, json };
}
