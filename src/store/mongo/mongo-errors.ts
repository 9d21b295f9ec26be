import { MongoServerError } from "mongodb";

/** E11000: a write that would have broken a unique index, so it did not happen. */
export const isDuplicateKeyError = (error: unknown): boolean =>
  error instanceof MongoServerError && error.code === 11000;

/**
 * Runs a write and reports a unique-index violation as the same plain `duplicate …` error the
 * embedded store throws, keeping the driver's error as the cause; any other failure passes through.
 */
export async function reportingDuplicates<T>(write: () => Promise<T>, what: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new Error(`duplicate ${what}`, { cause: error });
    throw error;
  }
}
