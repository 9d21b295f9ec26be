import type { GetMyLimitsResponse, Scope } from "../../gen/keygate/v1/key_admin_pb.js";
import { api } from "./api.js";
import { errorBox, openDialog, showError } from "./ui.js";

/** The scope catalog and what the signed-in key may grant, read once per sign-in. */
export interface Choices {
  catalog: readonly Scope[];
  limits: GetMyLimitsResponse;
}

let cached: Promise<Choices> | undefined;

export function choices(): Promise<Choices> {
  cached ??= Promise.all([api.listScopes({}), api.getMyLimits({})]).then(
    ([scopes, limits]) => ({ catalog: scopes.scopes, limits }),
    (error: unknown) => {
      cached = undefined;
      throw error;
    },
  );
  return cached;
}

export function forgetChoices(): void {
  cached = undefined;
}

/** The choices, or undefined after a dialog has explained why they could not be read. */
export async function choicesOrExplain(title: string): Promise<Choices | undefined> {
  try {
    return await choices();
  } catch (error) {
    const box = errorBox();
    showError(box, error);
    await openDialog({ title, body: box });
    return undefined;
  }
}
