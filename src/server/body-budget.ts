/**
 * Bytes of request bodies that keygate has read and still holds because the request has not
 * finished: a unary message waits for its last byte before it is decoded, a stream's message for
 * the end of its envelope. Without a bound, streams that send most of a large message and never
 * finish hold memory for as long as their connection lives (40 Check streams of 4 MiB: 160 MB).
 *
 * Bounded per connection and per process. When a connection goes past its bound, its largest
 * body is reset; when the process does, the largest body anywhere is: whoever holds the most
 * loses it, so one greedy client cannot make everyone else's small requests fail. A reset
 * releases the body's bytes at once and ends its request (RST_STREAM on HTTP/2, the connection
 * on HTTP/1.1, which cannot end one request alone).
 */

export interface BodyBudgetOptions {
  maxBytesPerConnection: number;
  maxBytesPerProcess: number;
}

/** What one request body holds. Closing it (the body was handed on, or the request ended) releases it. */
export interface BodyLedger {
  readonly bytes: number;
  /** Counts `n` more bytes held; false when the budget reset this body for it (drop it, read no more). */
  hold(n: number): boolean;
  /** `n` of the held bytes were handed on (a stream's complete message). */
  release(n: number): void;
  /** Releases everything; later calls do nothing. */
  close(): void;
}

interface Body {
  bytes: number;
  closed: boolean;
  readonly connection: object;
  readonly reset: () => void;
}

export class BodyBudget {
  readonly #maxBytesPerConnection: number;
  readonly #maxBytesPerProcess: number;
  /** Open bodies by connection (a socket or an HTTP/2 session). */
  readonly #connections = new Map<object, Set<Body>>();
  #bytes = 0;
  #resets = 0;

  constructor(options: BodyBudgetOptions) {
    this.#maxBytesPerConnection = options.maxBytesPerConnection;
    this.#maxBytesPerProcess = options.maxBytesPerProcess;
  }

  /** Bytes held now by unfinished request bodies. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bodies reset so far because a bound was reached. */
  get resets(): number {
    return this.#resets;
  }

  /** A ledger for one request body on `connection`; `reset` ends that request if the budget evicts it. */
  open(connection: object, reset: () => void): BodyLedger {
    const body: Body = { bytes: 0, closed: false, connection, reset };
    let bodies = this.#connections.get(connection);
    if (bodies === undefined) this.#connections.set(connection, (bodies = new Set()));
    bodies.add(body);
    const budget = this;
    return {
      get bytes() {
        return body.bytes;
      },
      hold(n) {
        if (body.closed) return false;
        body.bytes += n;
        budget.#bytes += n;
        budget.#enforce(body.connection);
        return !body.closed;
      },
      release(n) {
        if (body.closed) return;
        const released = Math.min(n, body.bytes);
        body.bytes -= released;
        budget.#bytes -= released;
      },
      close: () => this.#close(body),
    };
  }

  #close(body: Body): void {
    if (body.closed) return;
    body.closed = true;
    this.#bytes -= body.bytes;
    body.bytes = 0;
    const bodies = this.#connections.get(body.connection);
    bodies?.delete(body);
    if (bodies?.size === 0) this.#connections.delete(body.connection);
  }

  /** After a body on `connection` grew: resets the largest bodies until both bounds hold again. */
  #enforce(connection: object): void {
    const bodies = this.#connections.get(connection);
    while (bodies !== undefined && bodies.size > 0 && total(bodies) > this.#maxBytesPerConnection) this.#reset(largest(bodies));
    while (this.#bytes > this.#maxBytesPerProcess) {
      let target: Body | undefined;
      for (const open of this.#connections.values()) {
        const candidate = largest(open);
        if (target === undefined || candidate.bytes > target.bytes) target = candidate;
      }
      if (target === undefined) break;
      this.#reset(target);
    }
  }

  #reset(body: Body): void {
    this.#resets++;
    this.#close(body);
    body.reset();
  }
}

function total(bodies: Set<Body>): number {
  let bytes = 0;
  for (const body of bodies) bytes += body.bytes;
  return bytes;
}

function largest(bodies: Set<Body>): Body {
  let found: Body | undefined;
  for (const body of bodies) if (found === undefined || body.bytes > found.bytes) found = body;
  return found!;
}
