import { StoreUnavailableError } from "../errors.js";

/**
 * `reading`, or StoreUnavailableError once it has taken `deadlineMs`. The driver bounds a read on
 * the server (maxTimeMS) and on the socket (socketTimeoutMS: the write wait, 15 s by default); a
 * cursor's timeoutMS does nothing in this driver. So a read sent to a server that stops answering
 * without closing its connections (a host lost, a partition) waits for the socket timeout, unless
 * its caller gives up sooner here. What is left behind runs out on its own, and is ignored.
 */
export async function withinReadDeadline<T>(reading: Promise<T>, deadlineMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`${what} took longer than ${deadlineMs} ms (KEYGATE_STORE_READ_TIMEOUT_MS)`)), deadlineMs);
  });
  reading.catch(() => {});
  try {
    return await Promise.race([reading, overdue]);
  } finally {
    clearTimeout(timer);
  }
}
