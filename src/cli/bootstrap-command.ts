import { parseArgs } from "node:util";
import { loadConfig } from "../config/config.js";
import { findPlan } from "../model/plans.js";
import { SecretHasher } from "../model/secret.js";
import { openStore } from "../store/open-store.js";
import { bootstrapOperator, bootstrapOrganization } from "../tenancy/bootstrap.js";
import { PLATFORM_ADMIN } from "../model/platform.js";
import { systemClock } from "../time/clock.js";
import { UsageError, type CommandIo } from "./command.js";

export const BOOTSTRAP_HELP = `Usage: keygate bootstrap --org NAME [--plan PLAN] [--owner NAME] [--environment live|test] [--json]
       keygate bootstrap --operator [--org NAME] [--owner NAME] [--environment live|test] [--json]

Creates an organization, its owner user and a first admin key holding every scope of the
catalog, in the store the environment names (MONGODB_URI, MONGODB_DB, KEYGATE_PEPPER, plans and
scopes files: the same variables as the server). Prints the admin key once.

With --operator it creates a platform operator instead: a platform organization, its owner and
an operator key (${PLATFORM_ADMIN}, plus admin:read and admin:write in its own organization). The
operator key calls OperatorService (create organizations, set their plan) and reads any
organization's keys through ListKeys and GetKey with organization_id, never their secrets.
Operator keys come only from this command; an operator rotates or revokes them (a leaked one,
say) through OperatorService RegenerateOperatorKey and RevokeOperatorKey.

Options:
  --org NAME            organization name (required; with --operator: default "platform operators")
  --plan PLAN           plan name (default: KEYGATE_DEFAULT_PLAN, else "pro")
  --owner NAME          the owner user's name (default: "owner"; with --operator: "operator")
  --environment ENV     live (default) or test: the key's prefix
  --operator            create a platform operator and its operator key
  --json                print {organizationId, userId, keyId, secret} as JSON
  -h, --help            show this help
`;

export async function bootstrapCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      org: { type: "string" },
      plan: { type: "string" },
      owner: { type: "string" },
      environment: { type: "string", default: "live" },
      operator: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.out(BOOTSTRAP_HELP);
    return 0;
  }
  const operator = values.operator;
  const organizationName = (values.org ?? (operator ? "platform operators" : "")).trim();
  if (!organizationName) throw new UsageError("--org NAME is required");
  if (values.environment !== "live" && values.environment !== "test") throw new UsageError("--environment must be live or test");
  const config = loadConfig(io.env);
  const plan = findPlan(config.plans, values.plan ?? config.defaultPlan);
  if (!plan) throw new UsageError(`--plan ${values.plan} is not configured (plans: ${config.plans.map((p) => p.name).join(", ")})`);
  if (config.mongodbUri === undefined) {
    io.err("keygate: warning: MONGODB_URI is not set; the embedded store forgets this organization when the command exits.\n");
  }
  const store = await openStore(config);
  try {
    const bootstrap = operator ? bootstrapOperator : bootstrapOrganization;
    const result = await bootstrap(
      { store, hasher: new SecretHasher(config.pepper), clock: systemClock, scopes: config.scopes },
      { organizationName, plan, ownerName: values.owner ?? (operator ? "operator" : "owner"), environment: values.environment },
    );
    if (values.json) {
      io.out(
        JSON.stringify({
          organizationId: result.organization.id,
          userId: result.owner.id,
          keyId: result.key.id,
          plan: plan.name,
          ...(operator && { operator: true }),
          secret: result.secret,
        }) + "\n",
      );
    } else {
      const what = operator ? "operator key" : "admin key   ";
      io.out(
        [
          `organization ${result.organization.id} (${result.organization.name}, plan ${plan.name}${operator ? ", platform operators" : ""})`,
          `owner        ${result.owner.id}`,
          `${what} ${result.key.id}`,
          "",
          `The ${what.trim()}'s secret, shown this once (store it in a secret manager):`,
          "",
          // As \`npm start\` prints its demo key: the line the CLI's own variable is set with.
          `  export KEYGATE_ADMIN_KEY=${result.secret}`,
          "",
        ].join("\n"),
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}
