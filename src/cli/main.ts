#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config/config.js";
import { BOOTSTRAP_HELP, bootstrapCommand } from "./bootstrap-command.js";
import { auditCommand } from "./audit-command.js";
import { CHECK_HELP, checkCommand } from "./check-command.js";
import { EXIT, EXIT_HELP, isUsageError, usageFailure, usageMessage, type CommandIo } from "./command.js";
import { identitiesCommand } from "./identities-command.js";
import { keysCommand } from "./keys-command.js";
import { terminalSafeIo, withCauses } from "./output.js";
import { REENCRYPT_HELP, reencryptCommand } from "./reencrypt-command.js";
import { REPAIR_COUNTERS_HELP, repairCountersCommand } from "./repair-counters-command.js";
import { SECRET_SCANNING_HELP, secretScanningCommand } from "./secret-scanning-command.js";
import { settingsCommand } from "./settings-command.js";
import { usageCommand } from "./usage-command.js";
import { webhooksCommand } from "./webhooks-command.js";

const HELP = `Usage: keygate <command> [options]

Commands:
  bootstrap        create an organization, its owner and a first admin key (or a platform operator)
  check            ask a running keygate, as Envoy would, whether a request with an API key may pass
  keys             create, list, show, change, rotate, revoke, delete and test API keys
  webhooks         webhook endpoints: create, list, change, rotate their secret, test; deliveries
  identities       customers whose limits and credits their keys share: create, list, change; usage
  settings         organization settings: expiry warnings, key lifetime, unused keys, quota alerts, leaked keys
  usage            usage, billing and quota: key, org, billing, summary, quota
  audit            the audit log
  reencrypt        seal every recoverable key's secret under the current encryption key
  repair-counters  count again the counters that bound keys and set those that are wrong
  secret-scanning  the pattern and token type to register with GitHub's and other secret scanners

keys, webhooks, identities, settings, usage and audit call a running keygate: --url or KEYGATE_URL (default
http://localhost:8080), and an admin key in KEYGATE_ADMIN_KEY (or --api-key). check calls the
same address (on KEYGATE_DATA_PLANE_PORT when set). --json prints the API's JSON for scripts.

Run keygate <command> --help for a command's options.
${EXIT_HELP}
`;

const COMMANDS: Record<string, { run: (args: string[], io: CommandIo) => Promise<number>; help: string }> = {
  bootstrap: { run: bootstrapCommand, help: BOOTSTRAP_HELP },
  check: { run: checkCommand, help: CHECK_HELP },
  keys: keysCommand,
  webhooks: webhooksCommand,
  identities: identitiesCommand,
  settings: settingsCommand,
  usage: usageCommand,
  audit: auditCommand,
  reencrypt: { run: reencryptCommand, help: REENCRYPT_HELP },
  "repair-counters": { run: repairCountersCommand, help: REPAIR_COUNTERS_HELP },
  "secret-scanning": { run: secretScanningCommand, help: SECRET_SCANNING_HELP },
};

export async function runCli(argv: string[], terminal: CommandIo): Promise<number> {
  // Every command prints through this, so no stored string or server message runs in the terminal.
  const io = terminalSafeIo(terminal);
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    return usageFailure(io, "keygate", `unknown command ${JSON.stringify(name)}`, HELP);
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (isUsageError(error)) return usageFailure(io, `keygate ${name}`, usageMessage(error, command.help), command.help);
    if (error instanceof ConfigError) {
      io.err(`keygate ${name}: invalid configuration: ${error.message}\n`);
      return EXIT.usage;
    }
    io.err(`keygate ${name}: ${withCauses(error)}\n`);
    return EXIT.failure;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A reader that stops early (`keygate keys list | head -5`) closes the pipe: like Unix tools,
  // the command stops printing and ends with its own exit code rather than an EPIPE stack trace.
  let readerGone = false;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    readerGone = true;
  });
  const io: CommandIo = {
    env: process.env,
    out: (text) => {
      if (!readerGone) process.stdout.write(text);
    },
    err: (text) => process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  };
  runCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
