import { describe, expect, it } from "vitest";
import { checkWebhookTarget, WEBHOOK_URL_MAX_LENGTH } from "../../../src/webhooks/webhook-target.js";

const secure = { allowInsecure: false };
const insecure = { allowInsecure: true };

describe("checkWebhookTarget", () => {
  it.each(["https://hooks.example.com/keygate", "https://example.com:8443/a?b=c", "https://8.8.8.8/hook", "https://[2606:4700::1111]/hook"])(
    "accepts %s",
    (url) => expect(checkWebhookTarget(url, secure)).toEqual({ ok: true, url }),
  );

  it("answers the URL as parsed, the host in its canonical form", () => {
    expect(checkWebhookTarget("https://Hooks.Example.COM/a b", secure)).toEqual({ ok: true, url: "https://hooks.example.com/a%20b" });
  });

  it.each([
    ["", "is required"],
    ["/relative/path", "absolute URL"],
    ["hooks.example.com/x", "absolute URL"],
    ["http://hooks.example.com/x", "https://"],
    ["ftp://hooks.example.com/x", "https://"],
    ["https://user:pass@hooks.example.com/x", "user name or password"],
    ["https://user@hooks.example.com/x", "user name or password"],
    ["https://hooks.example.com/x#frag", "fragment"],
    ["https://hooks.example.com/x#", "fragment"],
    ["https://127.0.0.1/x", "public address"],
    ["https://127.0.0.1./x", "public address"],
    ["https://0x7f.1/x", "public address"],
    ["https://2130706433/x", "public address"],
    ["https://10.0.0.5/x", "public address"],
    ["https://169.254.169.254/latest/meta-data", "public address"],
    ["https://100.64.1.1/x", "public address"],
    ["https://[::1]/x", "public address"],
    ["https://[::ffff:127.0.0.1]/x", "public address"],
    ["https://[fd00::1]/x", "public address"],
    ["https://[64:ff9b::a00:1]/x", "public address"],
    ["https://localhost/x", "localhost"],
    ["https://LOCALHOST./x", "localhost"],
    ["https://api.localhost/x", "localhost"],
    [`https://example.com/${"a".repeat(WEBHOOK_URL_MAX_LENGTH)}`, `at most ${WEBHOOK_URL_MAX_LENGTH}`],
  ])("refuses %j (%s)", (url, problem) => {
    const check = checkWebhookTarget(url, secure);
    expect(check.ok).toBe(false);
    expect(check.ok ? "" : check.problem).toContain(problem);
  });

  it("says when a URL is refused only because insecure targets are not allowed (http://, a private address)", () => {
    for (const url of ["http://127.0.0.1:18090/keygate", "https://10.0.0.5/x", "https://localhost/x"]) {
      expect(checkWebhookTarget(url, secure), url).toMatchObject({ ok: false, insecureOnly: true });
    }
    for (const url of ["ftp://hooks.example.com/x", "https://user@hooks.example.com/x", "ws://127.0.0.1/"]) {
      expect(checkWebhookTarget(url, secure), url).toMatchObject({ ok: false, insecureOnly: false });
    }
  });

  it("refuses a URL that escaping makes too long", () => {
    const url = `https://example.com/${" ".repeat(WEBHOOK_URL_MAX_LENGTH - 100)}x`;
    const check = checkWebhookTarget(url, secure);
    expect(check.ok ? "" : check.problem).toContain("once escaped");
  });

  describe("with insecure targets allowed", () => {
    it.each(["http://127.0.0.1:8080/hook", "http://localhost/hook", "https://10.0.0.5/x", "http://[::1]:9000/", "http://receiver.internal/x"])(
      "accepts %s",
      (url) => expect(checkWebhookTarget(url, insecure)).toEqual({ ok: true, url }),
    );

    it.each(["ftp://127.0.0.1/x", "http://u:p@127.0.0.1/x", "http://127.0.0.1/x#f"])("still refuses %s", (url) =>
      expect(checkWebhookTarget(url, insecure).ok).toBe(false),
    );

    it("says http:// is allowed too", () => {
      const check = checkWebhookTarget("ws://127.0.0.1/", insecure);
      expect(check.ok ? "" : check.problem).toBe("must be an http:// or https:// URL");
    });
  });
});
