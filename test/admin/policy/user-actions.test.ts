import { describe, it } from "vitest";
import { mayAddUser, mayChangeUser, mayRemoveUser, type Actor, type Decision, type RefusalRule } from "../../../src/admin/policy.js";
import type { UserRole } from "../../../src/model/records.js";
import { actor, expectDecision, ME, RANK, ROLES, WRITER } from "./oracle.js";

/** Adding, changing and removing users: every role × action × target rank, on itself or another. */

const an = (role: string): string => (/^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`);

describe("policy: users (role × action × target rank, self or another)", () => {
  type UserCall = { name: string; self: boolean; targeted?: false; run: (me: Actor, target: { id: string; role: UserRole }) => Decision; broken: (role: UserRole, target: UserRole, self: boolean) => RefusalRule[] };
  const managers = (role: UserRole): RefusalRule[] => (role === "member" ? ["USERS_NOT_MANAGED"] : []);
  const calls: UserCall[] = [
    ...ROLES.map((newRole): UserCall => ({
      name: `add ${an(newRole)}`,
      self: false,
      targeted: false,
      run: (me) => mayAddUser(me, newRole, me.limits),
      broken: (role) => [...managers(role), ...(RANK[newRole] > RANK[role] ? (["ROLE_ABOVE_OWN"] as const) : [])],
    })),
    ...[false, true].flatMap((self) => [
      {
        name: "rename",
        self,
        run: (me: Actor, target: { id: string; role: UserRole }) => mayChangeUser(me, target, {}),
        broken: (role: UserRole, target: UserRole) => [...managers(role), ...(RANK[target] > RANK[role] ? (["USER_OUTRANKS"] as const) : [])],
      },
      ...ROLES.map((newRole): UserCall => ({
        name: `make ${newRole}`,
        self,
        run: (me, target) => mayChangeUser(me, target, { role: newRole }),
        broken: (role, target, isSelf) => [
          ...managers(role),
          ...(RANK[target] > RANK[role] ? (["USER_OUTRANKS"] as const) : []),
          ...(RANK[newRole] > RANK[role] ? (["ROLE_ABOVE_OWN"] as const) : []),
          ...(isSelf && newRole !== role ? (["OWN_ROLE"] as const) : []),
        ],
      })),
      {
        name: "remove",
        self,
        run: (me: Actor, target: { id: string; role: UserRole }) => mayRemoveUser(me, target),
        broken: (role: UserRole, target: UserRole, isSelf: boolean) => [
          ...managers(role),
          ...(isSelf ? (["OWN_USER_REMOVED"] as const) : []),
          ...(RANK[target] > RANK[role] ? (["USER_OUTRANKS"] as const) : []),
        ],
      },
    ]),
  ];
  const rows = ROLES.flatMap((role) =>
    calls.flatMap((call) => (call.self || call.targeted === false ? [{ role, call, target: role }] : ROLES.map((target) => ({ role, call, target })))),
  );

  const FIELD_OF_RULE: Partial<Record<RefusalRule, string>> = { USER_OUTRANKS: "id", OWN_USER_REMOVED: "id", ROLE_ABOVE_OWN: "role", OWN_ROLE: "role" };
  const whom = (r: (typeof rows)[number]) => (r.call.targeted === false ? "the organization" : r.call.self ? "itself" : an(r.target));

  it.each(rows.map((r) => [r.role, r.call.name, whom(r), r] as const))("%s: %s, on %s", (_role, _call, _target, { role, call, target }) => {
    const me = actor({ name: role, role, keyScopes: WRITER, operator: false });
    const decision = call.run(me, { id: call.self ? ME : `user_other_${target}`, role: target });
    expectDecision(decision, call.broken(role, target, call.self), (rule) => FIELD_OF_RULE[rule]);
  });
});
