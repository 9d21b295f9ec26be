import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The Standard Webhooks signature computed here, independently of the `standardwebhooks` package:
 * HMAC-SHA256 over `${id}.${timestamp}.${body}` keyed by the bytes the base64 after `whsec_`
 * stands for. True when one of the space-separated `v1,` signatures is it.
 */
export function hmacVerifies(secret: string, headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const id = String(headers["webhook-id"]);
  const timestamp = String(headers["webhook-timestamp"]);
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return String(headers["webhook-signature"])
    .split(" ")
    .some((signature) => {
      const [version, value] = signature.split(",");
      const given = Buffer.from(value ?? "", "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
}
