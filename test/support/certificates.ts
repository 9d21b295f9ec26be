import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Certificates made with openssl at test time in a temporary directory (never committed keys):
 * a CA, a server certificate for 127.0.0.1/localhost and a client certificate it signed, and a
 * client certificate of another CA, which the server must refuse.
 */
export interface TestCertificates {
  dir: string;
  /** Paths of PEM files. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueClientCert: string;
  rogueClientKey: string;
  read(path: string): Buffer;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A key and a certificate signed by `ca` (or self-signed when `ca` is undefined). */
function issue(dir: string, name: string, subject: string, ca: string | undefined, extensions: string): void {
  openssl(dir, ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  const signer = ca === undefined ? ["-signkey", `${name}.key`] : ["-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial"];
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, ...signer, "-days", "2", "-out", `${name}.crt`, "-extfile", `${name}.ext`]);
}

const CA_EXTENSIONS = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const SERVER_EXTENSIONS = "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n";
const CLIENT_EXTENSIONS = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "keygate-tls-"));
  issue(dir, "ca", "/CN=keygate test CA", undefined, CA_EXTENSIONS);
  issue(dir, "server", "/CN=localhost", "ca", SERVER_EXTENSIONS);
  issue(dir, "client", "/CN=envoy", "ca", CLIENT_EXTENSIONS);
  issue(dir, "rogue-ca", "/CN=someone else's CA", undefined, CA_EXTENSIONS);
  issue(dir, "rogue", "/CN=envoy", "rogue-ca", CLIENT_EXTENSIONS);
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caCert: at("ca.crt"),
    serverCert: at("server.crt"),
    serverKey: at("server.key"),
    clientCert: at("client.crt"),
    clientKey: at("client.key"),
    rogueClientCert: at("rogue.crt"),
    rogueClientKey: at("rogue.key"),
    read: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
