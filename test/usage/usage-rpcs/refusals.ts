import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { UsagePeriod } from "../../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../../src/model/ids.js";
import type { TestApp } from "../../support/app.js";
import type { SeededWorld } from "./seeded-world.js";

function expectReason(error: unknown, code: Code, reason: string, message: RegExp): void {
  expect(error).toBeInstanceOf(ConnectError);
  const connectError = error as ConnectError;
  expect(connectError.code).toBe(code);
  expect(connectError.rawMessage).toMatch(message);
  expect(connectError.findDetails(ErrorInfoSchema).map((d) => d.reason)).toEqual([reason]);
}

async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded");
}

/** Requests the usage RPCs refuse: periods outside the enum, bad billing periods, keys not found. */
export function describeUsageRefusals(world: () => SeededWorld): void {
  let t: TestApp;
  let keys: SeededWorld["keys"];
  let foreignKeyId: string;
  beforeAll(() => {
    ({ t, keys, foreignKeyId } = world());
  });

  it.each([
    ["unspecified", UsagePeriod.UNSPECIFIED],
    ["outside the enum", 99 as UsagePeriod],
  ])("refuses a period %s, naming the field", async (_, period) => {
    for (const call of [
      () => t.client.getKeyUsage({ id: keys.a, period }),
      () => t.client.getOrganizationUsage({ period }),
      () => t.client.getAnalyticsSummary({ period }),
    ]) {
      expectReason(await failure(call()), Code.InvalidArgument, "API_KEY_FIELD_INVALID", /^period: must be USAGE_PERIOD_DAY, USAGE_PERIOD_WEEK or USAGE_PERIOD_MONTH$/);
    }
  });

  it("refuses billing periods that are not YYYY-MM or lie in the future", async () => {
    for (const [period, message] of [
      ["2031-3", /^billing_period: must be a month as YYYY-MM/],
      ["", /^billing_period: must be a month as YYYY-MM/],
      ["2031-04", /^billing_period: 2031-04 is in the future$/],
    ] as const) {
      expectReason(await failure(t.client.getBillingUsage({ billingPeriod: period })), Code.InvalidArgument, "API_KEY_FIELD_INVALID", message);
    }
  });

  it("reports another organization's key, or an unknown one, as not found", async () => {
    for (const id of [foreignKeyId, newId("key")]) {
      expectReason(await failure(t.client.getKeyUsage({ id, period: UsagePeriod.DAY })), Code.NotFound, "API_KEY_NOT_FOUND", /not found/);
    }
    expectReason(await failure(t.client.getKeyUsage({ id: "", period: UsagePeriod.DAY })), Code.InvalidArgument, "API_KEY_FIELD_INVALID", /^id: is required$/);
  });
}
