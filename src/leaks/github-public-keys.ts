import { createPublicKey, type KeyObject } from "node:crypto";

/**
 * The public keys GitHub signs secret-scanning reports with, in GitHub's own file format (what
 * https://api.github.com/meta/public_keys/secret_scanning serves), so an operator can save that
 * answer as it is: `{"public_keys":[{"key_identifier","key" (PEM),"is_current"}]}`. Every listed
 * key is honoured, current or not: GitHub keeps a rotated-out key listed while reports it signed may
 * still arrive, and drops it when they may not, so "not in the file" is what makes a key expired.
 */
export type GithubPublicKeys = ReadonlyMap<string, KeyObject>;

export class PublicKeysFileError extends Error {}

export function parseGithubPublicKeys(text: string): GithubPublicKeys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PublicKeysFileError("the secret-scanning keys file is not JSON");
  }
  const list = isObject(parsed) ? parsed.public_keys : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw new PublicKeysFileError('the secret-scanning keys file needs a non-empty "public_keys" array');
  }
  const keys = new Map<string, KeyObject>();
  list.forEach((entry: unknown, index) => {
    const where = `public_keys[${index}]`;
    if (!isObject(entry)) throw new PublicKeysFileError(`${where} is not an object`);
    const { key_identifier: identifier, key: pem, is_current: isCurrent } = entry;
    if (typeof identifier !== "string" || identifier === "") throw new PublicKeysFileError(`${where}.key_identifier is not a non-empty string`);
    if (typeof pem !== "string") throw new PublicKeysFileError(`${where}.key is not a PEM string`);
    if (isCurrent !== undefined && typeof isCurrent !== "boolean") throw new PublicKeysFileError(`${where}.is_current is not a boolean`);
    if (keys.has(identifier)) throw new PublicKeysFileError(`${where}.key_identifier is listed twice`);
    keys.set(identifier, ecdsaP256Key(pem, where));
  });
  return keys;
}

// Only P-256 keys are accepted: a file naming another kind of key is a mistake better found at load
// than as every report refused.
function ecdsaP256Key(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new PublicKeysFileError(`${where}.key is not a PEM public key`);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new PublicKeysFileError(`${where}.key is not an ECDSA P-256 key`);
  }
  return key;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
