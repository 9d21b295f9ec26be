import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";

/** A stand-in for GitHub: a P-256 key pair, its keys file in GitHub's format, and signed reports. */
export class GithubReportSigner {
  readonly #privateKey: KeyObject;
  readonly publicKeyPem: string;

  constructor(readonly keyIdentifier = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a") {
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    this.#privateKey = pair.privateKey;
    this.publicKeyPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
  }

  keysFile(...others: GithubReportSigner[]): string {
    const public_keys = [this, ...others].map((signer, index) => ({
      key_identifier: signer.keyIdentifier,
      key: signer.publicKeyPem,
      is_current: index === 0,
    }));
    return JSON.stringify({ public_keys });
  }

  /** Base64 DER ECDSA P-256/SHA-256 over the exact bytes, as GitHub's `Github-Public-Key-Signature`. */
  signatureOf(body: Buffer | string): string {
    return sign("sha256", Buffer.from(body), { key: this.#privateKey, dsaEncoding: "der" }).toString("base64");
  }

  report(body: Buffer | string): { body: Buffer; keyIdentifier: string; signature: string } {
    return { body: Buffer.from(body), keyIdentifier: this.keyIdentifier, signature: this.signatureOf(body) };
  }
}
