import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PublicKeysFileError, parseGithubPublicKeys } from "../../src/leaks/github-public-keys.js";
import { MAX_REPORT_BYTES, verifyLeakReport } from "../../src/leaks/leak-report.js";
import { GithubReportSigner } from "./github-report-signer.js";

const github = new GithubReportSigner();
const keys = parseGithubPublicKeys(github.keysFile());
const TOKENS = [
  { token: "sk_live_abc", type: "keygate_live_api_key", url: "https://github.com/octo/repo/blob/abc/config.yml", source: "content" },
  { token: "sk_test_def", type: "keygate_test_api_key", url: "https://gist.github.com/octo/1", source: "gist" },
];
const BODY = JSON.stringify(TOKENS);

describe("verifyLeakReport", () => {
  it("accepts a report signed by a listed key and returns its tokens", () => {
    expect(verifyLeakReport(github.report(BODY), keys)).toEqual({ ok: true, tokens: TOKENS });
  });

  it("accepts a report signed by a listed key that is no longer current", () => {
    const retired = new GithubReportSigner("retired");
    const both = parseGithubPublicKeys(github.keysFile(retired));
    expect(verifyLeakReport(retired.report(BODY), both)).toMatchObject({ ok: true });
  });

  it("refuses an unsigned report", () => {
    expect(verifyLeakReport({ body: Buffer.from(BODY), keyIdentifier: undefined, signature: undefined }, keys)).toEqual({ ok: false, refusal: "signature_missing" });
    expect(verifyLeakReport({ ...github.report(BODY), signature: "" }, keys)).toEqual({ ok: false, refusal: "signature_missing" });
    expect(verifyLeakReport({ ...github.report(BODY), keyIdentifier: undefined }, keys)).toEqual({ ok: false, refusal: "signature_missing" });
  });

  it("refuses a key identifier the file does not list, even with a valid signature by that key", () => {
    const stranger = new GithubReportSigner("not-in-the-file");
    expect(verifyLeakReport(stranger.report(BODY), keys)).toEqual({ ok: false, refusal: "key_unknown" });
  });

  it("refuses a report signed by another key under a listed identifier", () => {
    const impostor = new GithubReportSigner(github.keyIdentifier);
    expect(verifyLeakReport(impostor.report(BODY), keys)).toEqual({ ok: false, refusal: "signature_invalid" });
  });

  it("refuses a tampered body", () => {
    const signed = github.report(BODY);
    const tampered = Buffer.from(BODY.replace("sk_live_abc", "sk_live_abd"));
    expect(verifyLeakReport({ ...signed, body: tampered }, keys)).toEqual({ ok: false, refusal: "signature_invalid" });
    expect(verifyLeakReport({ ...signed, body: Buffer.from(`${BODY} `) }, keys)).toEqual({ ok: false, refusal: "signature_invalid" });
  });

  it("refuses a signature that is not base64 DER", () => {
    expect(verifyLeakReport({ ...github.report(BODY), signature: "not base64!" }, keys)).toEqual({ ok: false, refusal: "signature_invalid" });
    expect(verifyLeakReport({ ...github.report(BODY), signature: Buffer.from("junk").toString("base64") }, keys)).toEqual({ ok: false, refusal: "signature_invalid" });
  });

  it("refuses a body over the bound before checking its signature", () => {
    const huge = JSON.stringify([{ ...TOKENS[0], url: "x".repeat(MAX_REPORT_BYTES) }]);
    expect(verifyLeakReport(github.report(huge), keys)).toEqual({ ok: false, refusal: "body_too_large" });
    expect(verifyLeakReport({ body: Buffer.alloc(MAX_REPORT_BYTES + 1), keyIdentifier: undefined, signature: undefined }, keys)).toEqual({ ok: false, refusal: "body_too_large" });
  });

  it.each([
    ["not JSON", "[{"],
    ["not an array", JSON.stringify({ token: "sk_live_abc" })],
    ["an entry that is not an object", JSON.stringify(["sk_live_abc"])],
    ["an entry without a token", JSON.stringify([{ type: "t", url: "u", source: "content" }])],
    ["a token that is not a string", JSON.stringify([{ token: 1, type: "t", url: "u", source: "content" }])],
    ["an entry without a url", JSON.stringify([{ token: "sk_live_abc", type: "t", source: "content" }])],
  ])("refuses a signed body that is %s", (_name, body) => {
    expect(verifyLeakReport(github.report(body), keys)).toEqual({ ok: false, refusal: "body_malformed" });
  });
});

describe("parseGithubPublicKeys", () => {
  it("reads GitHub's file format, keyed by identifier", () => {
    const other = new GithubReportSigner("second");
    expect([...parseGithubPublicKeys(github.keysFile(other)).keys()]).toEqual([github.keyIdentifier, "second"]);
  });

  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
  const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey.export({ type: "spki", format: "pem" }).toString();
  it.each([
    ["not JSON", "{", /not JSON/],
    ["without public_keys", "{}", /"public_keys"/],
    ["with no keys", JSON.stringify({ public_keys: [] }), /"public_keys"/],
    ["with an entry lacking its identifier", JSON.stringify({ public_keys: [{ key: github.publicKeyPem }] }), /public_keys\[0\]\.key_identifier/],
    ["with a key that is not PEM", JSON.stringify({ public_keys: [{ key_identifier: "a", key: "nope" }] }), /public_keys\[0\]\.key is not a PEM/],
    ["with an RSA key", JSON.stringify({ public_keys: [{ key_identifier: "a", key: rsa }] }), /not an ECDSA P-256 key/],
    ["with a P-384 key", JSON.stringify({ public_keys: [{ key_identifier: "a", key: p384 }] }), /not an ECDSA P-256 key/],
    ["with is_current not a boolean", JSON.stringify({ public_keys: [{ key_identifier: "a", key: github.publicKeyPem, is_current: "yes" }] }), /is_current/],
    ["with an identifier listed twice", github.keysFile(new GithubReportSigner(github.keyIdentifier)), /public_keys\[1\]\.key_identifier is listed twice/],
  ])("refuses a file %s", (_name, text, message) => {
    expect(() => parseGithubPublicKeys(text)).toThrow(PublicKeysFileError);
    expect(() => parseGithubPublicKeys(text)).toThrow(message);
  });
});
