import { createHmac, timingSafeEqual } from "node:crypto";
import { fieldError } from "./errors.js";

/**
 * Page tokens are opaque to callers and tamper-evident: the cursor, the organization and the
 * filter it was issued for, signed with HMAC under a key derived from the server's pepper. A
 * token edited by hand, issued to another organization, or replayed with another filter is
 * refused instead of silently listing the wrong thing.
 */
export interface PageCursor {
  /** Which listing issued it, so a ListKeys token is not accepted by ListAuditEvents. */
  listing: string;
  organizationId: string;
  /** The filter of the first page, serialised; later pages must use the same. */
  filter: string;
  /** Where the previous page ended: its last id, or what the listing's order needs to go on. */
  after: string;
}

export class PageTokens {
  readonly #key: Buffer;

  constructor(pepper: string) {
    this.#key = createHmac("sha256", pepper).update("keygate page tokens v1").digest();
  }

  #sign(payload: string): Buffer {
    return createHmac("sha256", this.#key).update(payload).digest().subarray(0, 16);
  }

  issue(cursor: PageCursor): string {
    const payload = Buffer.from(JSON.stringify([cursor.listing, cursor.organizationId, cursor.filter, cursor.after])).toString(
      "base64url",
    );
    return `${payload}.${this.#sign(payload).toString("base64url")}`;
  }

  /**
   * The cursor after which the next page starts, or an Error saying why the token is refused.
   * An empty token means the first page.
   */
  read(token: string, expected: Omit<PageCursor, "after">): string | undefined | Error {
    if (token === "") return undefined;
    const [payload, signature, extra] = token.split(".");
    if (!payload || !signature || extra !== undefined || token.length > 1024) return new Error("is malformed");
    const given = Buffer.from(signature, "base64url");
    const wanted = this.#sign(payload);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return new Error("is malformed or was altered");
    let fields: unknown;
    try {
      fields = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return new Error("is malformed");
    }
    if (!Array.isArray(fields) || fields.length !== 4 || !fields.every((f) => typeof f === "string")) {
      return new Error("is malformed");
    }
    const [listing, organizationId, filter, after] = fields as string[];
    if (listing !== expected.listing || organizationId !== expected.organizationId) {
      return new Error("was not issued for this listing");
    }
    if (filter !== expected.filter) return new Error("was issued for a different filter; repeat the first request's filter");
    return after;
  }

  /**
   * One page of a listing: the cursor from `pageToken` (refused as a page_token error), one
   * item more than asked fetched to know whether another page follows, and its token, whose
   * cursor is `cursorOf` the page's last item (its id unless the order needs more).
   */
  async page<T extends { id: string }>(
    listing: Omit<PageCursor, "after">,
    pageToken: string,
    pageSize: number,
    fetch: (cursor: string | undefined, limit: number) => Promise<T[]>,
    cursorOf: (last: T) => string = (last) => last.id,
  ): Promise<{ items: T[]; nextPageToken: string }> {
    const cursor = this.read(pageToken, listing);
    if (cursor instanceof Error) throw fieldError("page_token", cursor.message);
    const fetched = await fetch(cursor, pageSize + 1);
    const more = fetched.length > pageSize;
    const items = more ? fetched.slice(0, pageSize) : fetched;
    return { items, nextPageToken: more ? this.issue({ ...listing, after: cursorOf(items[items.length - 1]!) }) : "" };
  }
}
