import { parseArgs } from "node:util";
import { loadConfig } from "../config/config.js";
import { describeCorrection } from "../store/counter-repair.js";
import { openStore } from "../store/open-store.js";
import { EXIT, type CommandIo } from "./command.js";

export const REPAIR_COUNTERS_HELP = `Usage: keygate repair-counters [--json]

Counts again, from the keys and users themselves, the counters that bound keys (keys holding a
slot per organization and per owner user, owners per organization), sets those that are wrong
and prints them. keygate runs the same repair at every start; run this after a MongoDB failover
or when a limit refuses keys it should allow (or allows one too many). Runs against the store the
environment names (MONGODB_URI, MONGODB_DB), beside servers that keep serving: on a replica set
each organization is repaired in one transaction, so key changes made meanwhile are not undone.
Safe to run again at any time.

Options:
  --json        print {checked, corrections: [{counter, organizationId, userId?, was, now}]}
  -h, --help    show this help

Exit codes: 0 done (whether or not anything was wrong), 1 the store failed.
`;

export async function repairCountersCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.out(REPAIR_COUNTERS_HELP);
    return EXIT.ok;
  }
  const config = loadConfig(io.env);
  if (config.mongodbUri === undefined) {
    io.err("keygate: warning: MONGODB_URI is not set; the embedded store of this command holds no counters.\n");
  }
  const store = await openStore(config);
  try {
    const report = await store.repairCounters();
    if (values.json) {
      io.out(JSON.stringify(report) + "\n");
    } else {
      const lines = [
        `counters checked  ${report.checked}`,
        `wrong, repaired   ${report.corrections.length}`,
        ...report.corrections.map((correction) => `  ${describeCorrection(correction)}`),
        "",
      ];
      io.out(lines.join("\n"));
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
