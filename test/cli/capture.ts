import type { CommandIo } from "../../src/cli/command.js";

export const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";

/** A CommandIo over `env` that keeps what a command prints. */
export function capture(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { env, out: (t) => out.push(t), err: (t) => err.push(t) };
  return { io, out: () => out.join(""), err: () => err.join("") };
}
