import { describe, expect, it } from "vitest";
import { EXIT_HELP } from "../../src/cli/command.js";
import { runCli } from "../../src/cli/main.js";
import { capture } from "./capture.js";

/**
 * A usage error is three lines: what is wrong, the command's own usage line(s), and where its
 * help is; the whole help would push the error off the screen. Exit code 2, nothing on stdout.
 */

// Nothing listens here: a command that called a server would fail with exit 1, not 2.
const OFFLINE = { KEYGATE_URL: "http://127.0.0.1:9", KEYGATE_ADMIN_KEY: "sk_test_x" };

describe("usage errors", () => {
  it.each([
    [["nope"], "keygate", 'unknown command "nope"', "Usage: keygate <command> [options]"],
    [["keys"], "keygate keys", "a command is missing", "Usage: keygate keys <command> [options]"],
    [["keys", "nope"], "keygate keys", 'unknown command "nope"', "Usage: keygate keys <command> [options]"],
    [["keys", "create"], "keygate keys create", "--name NAME is required", "Usage: keygate keys create --name NAME [options]"],
    [["keys", "create", "--bogus"], "keygate keys create", "unknown option --bogus", "Usage: keygate keys create --name NAME [options]"],
    [["keys", "create", "--nme", "x"], "keygate keys create", "unknown option --nme (did you mean --name?)", "Usage: keygate keys create --name NAME [options]"],
    [["check", "--kye", "x"], "keygate check", "unknown option --kye (did you mean --key?)", "Usage: keygate check --key SECRET"],
    [["keys", "get"], "keygate keys get", "an argument is missing", "Usage: keygate keys get KEY_ID"],
    [["usage", "billing", "--month", "2026-13"], "keygate usage billing", "--month must be YYYY-MM", "Usage: keygate usage billing"],
    [["bootstrap"], "keygate bootstrap", "--org NAME is required", "Usage: keygate bootstrap --org NAME"],
    [["check", "--ip", "x"], "keygate check", "--key SECRET is required", "Usage: keygate check --key SECRET"],
  ])("%j: the error, the usage line, the way to the help", async (args, command, error, usage) => {
    const { io, out, err } = capture(OFFLINE);
    expect(await runCli(args, io)).toBe(2);
    expect(out()).toBe("");
    const lines = err().trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^${command}: `));
    expect(lines[0]).toContain(error);
    expect(lines[1]).toContain(usage);
    expect(lines.at(-1)).toBe(`Run \`${command} --help\` for more.`);
    // The usage line(s) only: bootstrap has two forms, nothing else more than one.
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(err()).not.toMatch(/Options:|Commands:|Exit codes|positional argument/);
  });

  it("says what an absent --owner means: create's default, update's no change", async () => {
    const help = async (sub: string) => {
      const { io, out } = capture();
      expect(await runCli(["keys", sub, "--help"], io)).toBe(0);
      return out();
    };
    expect(await help("create")).toMatch(/^ {2}--owner USER_ID +the responsible user \(default: the admin key's user\)$/m);
    expect(await help("update")).toMatch(/^ {2}--owner USER_ID +the responsible user \(absent: unchanged\)$/m);
  });

  it("ends every help with the same list of exit codes, 5 and 6 included", async () => {
    for (const args of [["--help"], ["keys", "--help"], ["keys", "create", "--help"], ["check", "--help"], ["webhooks", "list", "--help"]]) {
      const { io, out } = capture();
      expect(await runCli(args, io)).toBe(0);
      expect(out(), args.join(" ")).toContain(EXIT_HELP);
    }
    expect(EXIT_HELP).toMatch(/ 5 \(keys test\) .* 6 \(check\) /s);
  });

  it("names KEYGATE_ADMIN_KEY, the variable keygate prints at start, in its help", async () => {
    for (const args of [["--help"], ["keys", "list", "--help"]]) {
      const { io, out } = capture();
      expect(await runCli(args, io)).toBe(0);
      expect(out()).toContain("KEYGATE_ADMIN_KEY");
      expect(out()).not.toContain("KEYGATE_API_KEY");
    }
  });
});
