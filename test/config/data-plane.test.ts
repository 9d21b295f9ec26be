import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { makeCertificates, type TestCertificates } from "../support/certificates.js";

/**
 * The data plane's settings: KEYGATE_DATA_PLANE_TOKEN, KEYGATE_DATA_PLANE_PORT and the TLS files.
 * A bad value stops the start with a message naming the variable (main.ts exits 2 on a
 * ConfigError), and no message repeats the token or a key.
 */

const TOKEN = "dp-token-0123456789abcdefghijklmnopqrstuvwxyz";
const PREVIOUS = "dp-previous-0123456789abcdefghijklmnopqrstuvwxyz";

let certs: TestCertificates;
beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => certs?.remove());

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("the configuration was accepted");
}

describe("data-plane settings", () => {
  it("default: no token, no port of its own, no TLS", () => {
    expect(loadConfig({}).dataPlane).toStrictEqual({ token: undefined, previousToken: undefined, port: undefined, tls: undefined });
  });

  it("takes a previous token beside the current one, while Envoy moves from one to the other", () => {
    expect(loadConfig({ KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: PREVIOUS }).dataPlane).toStrictEqual({
      token: TOKEN,
      previousToken: PREVIOUS,
      port: undefined,
      tls: undefined,
    });
    expect(loadConfig({ KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: "" }).dataPlane.previousToken).toBeUndefined();
  });

  it("takes a token of at least 32 bearer-token characters and a port other than PORT", () => {
    expect(loadConfig({ KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_PORT: "8081" }).dataPlane).toEqual({ token: TOKEN, port: 8081, tls: undefined });
    const base64 = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ+/Q=";
    expect(loadConfig({ KEYGATE_DATA_PLANE_TOKEN: base64 }).dataPlane.token).toBe(base64);
    // Both 0: two free ports, as the tests ask for them.
    expect(loadConfig({ PORT: "0", KEYGATE_DATA_PLANE_PORT: "0" }).dataPlane.port).toBe(0);
  });

  it.each([
    [{ KEYGATE_DATA_PLANE_TOKEN: "short-token" }, "KEYGATE_DATA_PLANE_TOKEN", /32 to 1024 characters, got 11/],
    [{ KEYGATE_DATA_PLANE_TOKEN: "a".repeat(1_025) }, "KEYGATE_DATA_PLANE_TOKEN", /got 1025/],
    [{ KEYGATE_DATA_PLANE_TOKEN: `${TOKEN} with spaces` }, "KEYGATE_DATA_PLANE_TOKEN", /may hold only/],
    [{ KEYGATE_DATA_PLANE_TOKEN: `${TOKEN}|&` }, "KEYGATE_DATA_PLANE_TOKEN", /may hold only/],
    [{ KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: "short-token" }, "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", /32 to 1024 characters, got 11/],
    [{ KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: `${PREVIOUS}|&` }, "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", /may hold only/],
    [{ KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: PREVIOUS }, "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", /only with KEYGATE_DATA_PLANE_TOKEN/],
    [{ KEYGATE_DATA_PLANE_TOKEN: "", KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: PREVIOUS }, "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", /only with KEYGATE_DATA_PLANE_TOKEN/],
    [{ KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: TOKEN }, "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", /must differ from KEYGATE_DATA_PLANE_TOKEN/],
    [{ KEYGATE_DATA_PLANE_PORT: "eighty-eighty-one" }, "KEYGATE_DATA_PLANE_PORT", /port number/],
    [{ KEYGATE_DATA_PLANE_PORT: "70000" }, "KEYGATE_DATA_PLANE_PORT", /port number/],
    [{ KEYGATE_DATA_PLANE_PORT: "-1" }, "KEYGATE_DATA_PLANE_PORT", /port number/],
    [{ KEYGATE_DATA_PLANE_PORT: "8080" }, "KEYGATE_DATA_PLANE_PORT", /must differ from PORT \(8080\)/],
    [{ PORT: "9000", KEYGATE_DATA_PLANE_PORT: "9000" }, "KEYGATE_DATA_PLANE_PORT", /must differ from PORT/],
  ])("stops on %o, naming %s, without repeating the value", (env, variable, problem) => {
    const error = refusal(env);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
    expect(error.message).toMatch(problem);
    for (const name of ["KEYGATE_DATA_PLANE_TOKEN", "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS"]) {
      const token = (env as Record<string, string>)[name];
      if (token) expect(error.message).not.toContain(token.slice(0, 11));
    }
  });

  describe("TLS on the data-plane listener", () => {
    const port = { KEYGATE_DATA_PLANE_PORT: "8443" };

    it("reads a certificate, its key and a client CA bundle", () => {
      const settings = loadConfig({
        ...port,
        KEYGATE_TLS_CERT_FILE: certs.serverCert,
        KEYGATE_TLS_KEY_FILE: certs.serverKey,
        KEYGATE_TLS_CLIENT_CA_FILE: certs.caCert,
      }).dataPlane;
      expect(settings.tls?.cert.equals(certs.read(certs.serverCert))).toBe(true);
      expect(settings.tls?.key.equals(certs.read(certs.serverKey))).toBe(true);
      expect(settings.tls?.clientCa?.equals(certs.read(certs.caCert))).toBe(true);
      expect(loadConfig({ ...port, KEYGATE_TLS_CERT_FILE: certs.serverCert, KEYGATE_TLS_KEY_FILE: certs.serverKey }).dataPlane.tls?.clientCa).toBeUndefined();
    });

    it.each<[string, () => Record<string, string>, string, RegExp]>([
      ["a certificate without its key", () => ({ ...port, KEYGATE_TLS_CERT_FILE: certs.serverCert }), "KEYGATE_TLS_KEY_FILE", /must be set with KEYGATE_TLS_CERT_FILE/],
      ["a key without its certificate", () => ({ ...port, KEYGATE_TLS_KEY_FILE: certs.serverKey }), "KEYGATE_TLS_CERT_FILE", /must be set with KEYGATE_TLS_KEY_FILE/],
      ["a client CA without TLS", () => ({ ...port, KEYGATE_TLS_CLIENT_CA_FILE: certs.caCert }), "KEYGATE_TLS_CLIENT_CA_FILE", /need TLS/],
      [
        "TLS without a data-plane port",
        () => ({ KEYGATE_TLS_CERT_FILE: certs.serverCert, KEYGATE_TLS_KEY_FILE: certs.serverKey }),
        "KEYGATE_TLS_CERT_FILE",
        /set KEYGATE_DATA_PLANE_PORT/,
      ],
      [
        "a certificate file that does not exist",
        () => ({ ...port, KEYGATE_TLS_CERT_FILE: join(certs.dir, "missing.crt"), KEYGATE_TLS_KEY_FILE: certs.serverKey }),
        "KEYGATE_TLS_CERT_FILE",
        /cannot read .*missing\.crt: ENOENT/,
      ],
      [
        "a key of another certificate",
        () => ({ ...port, KEYGATE_TLS_CERT_FILE: certs.serverCert, KEYGATE_TLS_KEY_FILE: certs.clientKey }),
        "KEYGATE_TLS_CERT_FILE",
        /key values mismatch/,
      ],
      [
        "a key where the certificate belongs",
        () => ({ ...port, KEYGATE_TLS_CERT_FILE: certs.serverKey, KEYGATE_TLS_KEY_FILE: certs.serverKey }),
        "KEYGATE_TLS_CERT_FILE",
        /not a usable PEM certificate/,
      ],
      [
        "a client CA file without a certificate",
        () => ({ ...port, KEYGATE_TLS_CERT_FILE: certs.serverCert, KEYGATE_TLS_KEY_FILE: certs.serverKey, KEYGATE_TLS_CLIENT_CA_FILE: certs.serverKey }),
        "KEYGATE_TLS_CLIENT_CA_FILE",
        /holds no PEM certificate/,
      ],
      [
        "a client CA bundle with a broken certificate",
        () => {
          const broken = join(certs.dir, "broken-bundle.pem");
          writeFileSync(broken, `${certs.read(certs.caCert).toString()}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
          return { ...port, KEYGATE_TLS_CERT_FILE: certs.serverCert, KEYGATE_TLS_KEY_FILE: certs.serverKey, KEYGATE_TLS_CLIENT_CA_FILE: broken };
        },
        "KEYGATE_TLS_CLIENT_CA_FILE",
        /certificate 2 does not parse/,
      ],
    ])("stops on %s", (_, env, variable, problem) => {
      const error = refusal(env());
      expect(error.message).toMatch(new RegExp(`^${variable}: `));
      expect(error.message).toMatch(problem);
      expect(error.message).not.toContain("PRIVATE KEY");
    });
  });
});
