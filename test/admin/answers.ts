import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** Reading what the admin API answered, for the admin suites' assertions. */

/** What a failed call carried: its code, ErrorInfo reason, and field (when it names one). */
export async function failure(call: Promise<unknown>): Promise<{ code: Code; reason: string; field?: string; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    const info = connectError.findDetails(ErrorInfoSchema)[0];
    return {
      code: connectError.code,
      reason: info?.reason ?? "",
      ...(info?.metadata["field"] !== undefined && { field: info.metadata["field"] }),
      message: connectError.rawMessage,
    };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** JSON text of a message, for searching it (int64 fields are bigints). */
export const text = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
