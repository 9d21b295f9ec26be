import { parseArgs } from "node:util";
import { SECRET_SCANNER_PATTERN, SECRET_TOKEN_TYPE } from "../model/secret.js";
import { EXIT, UsageError, type CommandIo } from "./command.js";

export const SECRET_SCANNING_HELP = `Usage: keygate secret-scanning pattern [--json]

Prints what to register with secret scanners so they find leaked keygate keys: the token type and
the regular expression of a keygate secret (the one keygate checks secrets against), for GitHub's
secret-scanning partner program (reports go to POST /v1/secret-scanning/github, see
docs/secret-scanning.md) and, with word boundaries, for GitLab's and other scanners' custom
patterns (gitleaks, TruffleHog). keygate checks each match's checksum when it is reported.

Options:
  --json       print them as JSON
  -h, --help   show this help
`;

export async function secretScanningCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    io.out(SECRET_SCANNING_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1 || positionals[0] !== "pattern") throw new UsageError("the one subcommand is pattern");
  const patterns = { token_type: SECRET_TOKEN_TYPE, github: SECRET_SCANNER_PATTERN, custom: `\\b${SECRET_SCANNER_PATTERN}\\b` };
  io.out(
    values.json
      ? `${JSON.stringify(patterns)}\n`
      : `token type:                    ${patterns.token_type}\n` +
          `GitHub partner program:        ${patterns.github}\n` +
          `GitLab, gitleaks, TruffleHog:  ${patterns.custom}\n`,
  );
  return EXIT.ok;
}
