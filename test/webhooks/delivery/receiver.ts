import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { once } from "node:events";

/** One request a receiver got. */
export interface Received {
  headers: IncomingMessage["headers"];
  method: string;
  url: string;
  body: string;
}

export type Answer = (received: Received, res: ServerResponse) => void;

export const answerStatus =
  (status: number, body = ""): Answer =>
  (_received, res) => {
    res.writeHead(status, { "content-type": "text/plain" }).end(body);
  };

/**
 * A real HTTP receiver on 127.0.0.1 (port 0): it keeps every request it got and answers each with
 * the next of `answers` (the last one again once they run out). Tests await `count(n)` instead of
 * sleeping.
 */
export class Receiver {
  readonly received: Received[] = [];
  connections = 0;
  readonly #server: Server;
  readonly #answers: Answer[];
  readonly #sockets = new Set<Socket>();
  readonly #waiting: { count: number; resolve: () => void }[] = [];

  private constructor(answers: Answer[]) {
    this.#answers = answers;
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const received = { headers: req.headers, method: req.method ?? "", url: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") };
        const answer = this.#answers[Math.min(this.received.length, this.#answers.length - 1)]!;
        this.received.push(received);
        answer(received, res);
        for (const waiter of this.#waiting.filter((w) => w.count <= this.received.length)) {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          waiter.resolve();
        }
      });
    });
    this.#server.on("connection", (socket: Socket) => {
      this.connections++;
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(...answers: Answer[]): Promise<Receiver> {
    const receiver = new Receiver(answers.length > 0 ? answers : [answerStatus(200)]);
    receiver.#server.listen(0, "127.0.0.1");
    await once(receiver.#server, "listening");
    return receiver;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  url(path = "/hooks"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves once this receiver has got `count` requests in all. */
  async count(count: number): Promise<void> {
    if (this.received.length >= count) return;
    await new Promise<void>((resolve) => this.#waiting.push({ count, resolve }));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#server.close();
    await once(this.#server, "close");
  }
}
