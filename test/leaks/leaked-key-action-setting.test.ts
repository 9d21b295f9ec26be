import { Code, ConnectError } from "@connectrpc/connect";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LeakedKeyAction } from "../../gen/keygate/v1/key_admin_pb.js";
import { SECRET_SCANNING_PATH } from "../../src/server/secret-scanning-endpoint.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GithubReportSigner } from "./github-report-signer.js";

const github = new GithubReportSigner();
let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function app() {
  const path = join(mkdtempSync(join(tmpdir(), "keygate-leaks-")), "secret-scanning-keys.json");
  writeFileSync(path, github.keysFile());
  running = await startTestApp({ env: { KEYGATE_SECRET_SCANNING_KEYS_FILE: path } });
  return running;
}

describe("the organization setting leaked_key_action", () => {
  it("is DISABLE by default, and an owner sets it to REVOKE, which the next report follows", async () => {
    const t = await app();
    expect((await t.client.getOrganizationSettings({})).settings?.leakedKeyAction).toBe(LeakedKeyAction.DISABLE);
    const updated = await t.client.updateOrganizationSettings({ leakedKeyAction: LeakedKeyAction.REVOKE });
    expect(updated.settings?.leakedKeyAction).toBe(LeakedKeyAction.REVOKE);

    const { secret } = await t.client.createKey({ name: "ci deploy", scopes: [] });
    const body = JSON.stringify([{ token: secret, type: "keygate_api_key", url: "https://github.com/octo/repo/blob/main/.env", source: "content" }]);
    const response = await fetch(`${t.app.url}${SECRET_SCANNING_PATH}`, {
      method: "POST",
      body,
      headers: { "github-public-key-identifier": github.keyIdentifier, "github-public-key-signature": github.signatureOf(body) },
    });
    expect(response.status).toBe(200);
    expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: false, reason: "API_KEY_REVOKED" });
  });

  it("refuses LEAKED_KEY_ACTION_UNSPECIFIED, naming the field", async () => {
    const t = await app();
    const error = await t.client.updateOrganizationSettings({ leakedKeyAction: LeakedKeyAction.UNSPECIFIED }).catch((thrown: unknown) => ConnectError.from(thrown));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).message).toContain("leaked_key_action");
    expect((await t.client.getOrganizationSettings({})).settings?.leakedKeyAction).toBe(LeakedKeyAction.DISABLE);
  });
});
