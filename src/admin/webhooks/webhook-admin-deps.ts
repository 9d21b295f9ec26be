import type { SigningSecretSealing } from "../../crypto/signing-secret-sealing.js";

/** What the webhook RPCs need besides what every KeyAdminService handler has (key-admin-deps.ts). */
export interface WebhookAdminDeps {
  /** Seals endpoints' signing secrets for the store; derived from the pepper. */
  sealing: SigningSecretSealing;
  /** KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: `http://`, loopback and private targets (development and tests). */
  allowInsecureTargets: boolean;
}
