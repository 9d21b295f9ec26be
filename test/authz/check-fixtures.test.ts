import { describe, it } from "vitest";
import { createHarness, expectFixtureAnswer, fixtureOptions, fixtureRequest, loadFixtures } from "./check-harness.js";

/** One scenario per file in test/fixtures/check: a CheckRequest as Envoy sends it, and the answer. */

describe("Check scenarios (test/fixtures/check)", () => {
  it.each(loadFixtures())("%s", async (_name, fixture) => {
    const h = await createHarness(fixtureOptions(fixture));
    await expectFixtureAnswer(fixture, await fixtureRequest(h, fixture), (request) => h.service.check(request));
  });
});
