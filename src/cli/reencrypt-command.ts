import { parseArgs } from "node:util";
import { loadConfig } from "../config/config.js";
import { reencryptSecrets } from "../keys/reencrypt.js";
import { secretEncryptionFrom } from "../crypto/secret-encryption.js";
import { openStore } from "../store/open-store.js";
import { EXIT, UsageError, type CommandIo } from "./command.js";

export const REENCRYPT_HELP = `Usage: keygate reencrypt [--dry-run] [--batch-size N] [--json]

Seals every recoverable key's secret again under KEYGATE_ENCRYPTION_KEY, opening those sealed
under a key in KEYGATE_ENCRYPTION_KEY_PREVIOUS (comma-separated). Runs against the store the
environment names (MONGODB_URI, MONGODB_DB), beside servers that keep serving: each secret is
swapped only if it has not changed since it was read, so a RegenerateKey in between wins. Safe
to run again after an interruption. Never prints a secret.

Rotating the encryption key without downtime:
  1. Make a new key:                      openssl rand -base64 32
  2. Roll every server to                 KEYGATE_ENCRYPTION_KEY=<old> KEYGATE_ENCRYPTION_KEY_PREVIOUS=<new>
     (every server can open what the new key seals before any server seals with it)
  3. Roll every server to                 KEYGATE_ENCRYPTION_KEY=<new> KEYGATE_ENCRYPTION_KEY_PREVIOUS=<old>
  4. Run, with the variables of step 3:   keygate reencrypt
     until it reports nothing unreadable (exit code 0)
  5. Roll every server to                 KEYGATE_ENCRYPTION_KEY=<new>   (no PREVIOUS); destroy the old key.

Options:
  --dry-run          open every secret that needs it and count, change nothing
  --batch-size N     keys read per query (default 500)
  --json             print the report as JSON
  -h, --help         show this help

Exit codes: 0 every recoverable secret is under the current key (or would be, with --dry-run);
1 some could not be opened (listed by key id; they stay as they are).
`;

export async function reencryptCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "dry-run": { type: "boolean", default: false },
      "batch-size": { type: "string", default: "500" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.out(REENCRYPT_HELP);
    return EXIT.ok;
  }
  const batchSize = Number(values["batch-size"]);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new UsageError("--batch-size must be between 1 and 10000");
  const config = loadConfig(io.env);
  const encryption = secretEncryptionFrom(config);
  if (!encryption) throw new UsageError("KEYGATE_ENCRYPTION_KEY must be set: it is the key secrets are sealed under");
  if (config.mongodbUri === undefined) {
    io.err("keygate: warning: MONGODB_URI is not set; the embedded store of this command holds no keys.\n");
  }
  const store = await openStore(config);
  try {
    const report = await reencryptSecrets(store, encryption, { batchSize, dryRun: values["dry-run"] });
    if (values.json) {
      io.out(JSON.stringify({ encryptionKeyId: encryption.currentKeyId, dryRun: values["dry-run"], ...report }) + "\n");
    } else {
      const lines = [
        `encryption key ${encryption.currentKeyId}`,
        values["dry-run"] ? `would reseal       ${report.pending}` : `resealed           ${report.resealed}`,
        `changed meanwhile  ${report.changedMeanwhile}`,
        `unreadable         ${report.unreadable.length}`,
        ...report.unreadable.map((u) => `  ${u.keyId} (organization ${u.organizationId}, sealed with ${u.sealedWith}): ${u.reason}`),
        "",
      ];
      io.out(lines.join("\n"));
    }
    return report.unreadable.length === 0 ? EXIT.ok : EXIT.failure;
  } finally {
    await store.close();
  }
}
