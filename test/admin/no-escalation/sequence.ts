import { Code } from "@connectrpc/connect";
import { resolve, type Command } from "./commands.js";
import { apiViolations, invariantViolations } from "./invariants.js";
import type { Call, ModelState, Verdict } from "./model.js";
import { apply } from "./model-apply.js";
import { decide } from "./model-decide.js";
import { keyOf } from "./model-rights.js";
import { perform, type Outcome, type World } from "./world.js";

/**
 * Runs commands on keygate and on the model side by side. After each step it checks (a) that
 * keygate allowed exactly what the model allows (a refusal with a code the model expects) and
 * (b) the invariants on the store; at the end, the invariants through the API. On the first
 * failure it throws the whole transcript.
 */

/** "M's admin key #2": the key a secret opened and which of its secrets it is. */
function secretLabel(state: ModelState, secret: string): string {
  const keyId = state.secretKey.get(secret);
  const key = state.keys.find((k) => k.id === keyId);
  if (!key) return "an unknown secret";
  const generation = [...state.secretKey].filter(([, id]) => id === keyId).findIndex(([s]) => s === secret) + 1;
  return `${key.label} #${generation}`;
}

function describeCall(state: ModelState, call: Call): string {
  if (call.method === "advanceClock") return `the clock moves ${call.ms / 60_000} minutes on`;
  const keyLabel = (id: string) => state.keys.find((k) => k.id === id)?.label ?? id;
  const userLabel = (id: string) => {
    const user = state.users.find((u) => u.id === id);
    return user ? `${user.label} (${user.removed ? "removed " : ""}${user.role})` : id;
  };
  const { method, secret, ...rest } = call;
  const args = Object.entries(rest)
    .filter(([name]) => name !== "person")
    .map(([name, value]) =>
      name === "keyId" ? `key=${keyLabel(value as string)}` : name === "userId" || name === "ownerUserId" ? `${name}=${userLabel(value as string)}` : `${name}=${JSON.stringify(value)}`,
    );
  const who = "person" in call ? `${call.person} with ${secretLabel(state, secret)}` : secretLabel(state, secret);
  return `${who}: ${method}(${args.join(", ")})`;
}

const codes = (set: Set<Code>) => [...set].map((c) => Code[c]).join("/");
const describeOutcome = (outcome: Outcome) => (outcome.ok ? "allowed" : `refused ${Code[outcome.code]} ${outcome.reason}: ${outcome.message}`);
const describeVerdict = (verdict: Verdict) => (verdict.kind === "allow" ? "allow" : `${verdict.kind} ${codes(verdict.codes)} (${verdict.why.join("; ")})`);

/** What is wrong with keygate's answer to a call the model judged, if anything. */
function judge(verdict: Verdict, outcome: Outcome): string | undefined {
  if (outcome.ok) return verdict.kind === "refuse" ? "ESCALATION: keygate allowed a call the contract refuses" : undefined;
  if (verdict.kind === "allow") return "MISMATCH: keygate refused a call the contract allows";
  if (!verdict.codes.has(outcome.code)) return `MISMATCH: keygate refused with ${Code[outcome.code]}, the contract says ${codes(verdict.codes)}`;
  const reason = { [Code.PermissionDenied]: "PERMISSION_DENIED", [Code.Unauthenticated]: "UNAUTHENTICATED", [Code.NotFound]: "API_KEY_NOT_FOUND" }[outcome.code as number];
  if (reason !== undefined && outcome.reason !== reason && !(outcome.code === Code.NotFound && outcome.reason === "API_KEY_USER_INVALID")) {
    return `MISMATCH: a ${Code[outcome.code]} refusal must carry the reason ${reason}, not ${JSON.stringify(outcome.reason)}`;
  }
  return undefined;
}

export async function runSequence(world: World, commands: readonly Command[]): Promise<void> {
  const transcript: string[] = [];
  const fail = (problems: string[]) => {
    throw new Error([...problems, "", "after these steps (model verdict → keygate):", ...transcript].join("\n"));
  };
  const labelOf = (secret: string) => secretLabel(world.state, secret);
  const atStart = await invariantViolations(world, labelOf);
  if (atStart.length > 0) fail(["the world does not start as the model says:", ...atStart]);
  for (const command of commands) {
    const call = resolve(world.state, command);
    const verdict = decide(world.state, call);
    const line = `${transcript.length + 1}. ${describeCall(world.state, call)}`;
    const outcome = await perform(world, call);
    transcript.push(`${line}\n     model: ${describeVerdict(verdict)} → keygate: ${describeOutcome(outcome)}`);
    const problem = judge(verdict, outcome);
    if (problem) fail([problem]);
    if (call.method === "revealKey" && outcome.ok && outcome.answer.secret !== keyOf(world.state, call.keyId)?.current) {
      fail(["ESCALATION: show_key_value answered with a secret that is not the key's current one"]);
    }
    if (outcome.ok) apply(world.state, call, outcome.answer);
    const violations = await invariantViolations(world, labelOf);
    if (violations.length > 0) fail(violations);
  }
  const atEnd = await apiViolations(world, labelOf);
  if (atEnd.length > 0) fail(["at the end, through the API:", ...atEnd]);
}
