// Copyright 2026 the tcp authors. MIT license.
// A deliberately misbehaving HTTP server for the fetchToFile tests, built on
// the module's own TcpServer: each test hands it a handler that writes raw
// bytes, however wrong, and the server records every request it got.

import {
  IncompleteReadError,
  TcpClient,
  type TcpConnection,
  TcpServer,
} from "../mod.ts";

/** A request as the hostile server saw it. */
export interface RecordedRequest {
  method: string;
  target: string;
  version: string;
  /** Names lower-cased. */
  headers: Headers;
  /** The raw head, as sent. */
  raw: string;
}

/** Answers one request on `conn` with whatever bytes it likes. */
export type HostileHandler = (
  conn: TcpConnection,
  request: RecordedRequest,
) => void | Promise<void>;

/** Options for {@linkcode HostileServer.start}. */
export interface HostileServerOptions {
  /** With `key`, the server speaks TLS. */
  cert?: string;
  key?: string;
  /**
   * With `false`, a TLS server's connections end with a bare TCP close, as
   * from a server that never sends close_notify: a proxy in front of it
   * withholds the alert. Its `port` is then the proxy's.
   */
  closeNotify?: boolean;
}

const decoder = new TextDecoder();

/** A server on 127.0.0.1 with a port of its own. */
export class HostileServer implements AsyncDisposable {
  readonly requests: RecordedRequest[] = [];
  #server: TcpServer;
  #serving: Promise<void>;
  #tls: boolean;
  #proxy: CuttingProxy | undefined;

  private constructor(handler: HostileHandler, options: HostileServerOptions) {
    this.#tls = options.cert !== undefined;
    this.#server = TcpServer.listen({
      hostname: "127.0.0.1",
      port: 0,
      cert: options.cert,
      key: options.key,
      // Hostile handlers fail on purpose, and clients hang up on them.
      onError: () => {},
    });
    this.#serving = this.#server.serve(async (conn) => {
      let head: Uint8Array;
      try {
        head = await conn.readUntil("\r\n\r\n");
      } catch (error) {
        if (error instanceof IncompleteReadError) return;
        throw error;
      }
      const raw = decoder.decode(head);
      const [requestLine = "", ...lines] = raw.split("\r\n");
      const [method = "", target = "", version = ""] = requestLine.split(" ");
      const headers = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) {
          headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
        }
      }
      const request = { method, target, version, headers, raw };
      this.requests.push(request);
      await handler(conn, request);
    });
    if (this.#tls && options.closeNotify === false) {
      this.#proxy = new CuttingProxy(this.#server.addr.port, {
        withholdCloseNotify: true,
      });
    }
  }

  /** Starts a server that answers every request with `handler`. */
  static start(
    handler: HostileHandler,
    options: HostileServerOptions = {},
  ): HostileServer {
    return new HostileServer(handler, options);
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#proxy ?? this.#server.addr).port;
  }

  /**
   * A URL on this server. The host is "localhost" for TLS, the name the test
   * certificate is for, and "127.0.0.1" otherwise.
   */
  url(
    path = "/file.bin",
    host = this.#tls ? "localhost" : "127.0.0.1",
  ): string {
    return `${this.#tls ? "https" : "http"}://${host}:${this.port}${path}`;
  }

  async close(): Promise<void> {
    // The server first: its closes end the proxy's connections.
    await this.#server.close();
    await this.#serving;
    await this.#proxy?.[Symbol.asyncDispose]();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A handler that writes `response` and closes the connection. */
export function reply(...response: (string | Uint8Array)[]): HostileHandler {
  return async (conn) => {
    for (const part of response) await conn.write(part);
  };
}

/** Waits until the client hangs up or the server closes the connection. */
export async function stall(conn: TcpConnection): Promise<void> {
  try {
    while (await conn.read() !== null);
  } catch {
    // A reset is a hang-up too.
  }
}

/** Writes `piece` over and over until the client stops reading. */
export async function endless(
  conn: TcpConnection,
  piece: string | Uint8Array,
): Promise<void> {
  try {
    for (;;) await conn.write(piece);
  } catch {
    // The client gave up, as it should.
  }
}

/** Options for {@linkcode CuttingProxy}. */
export interface CuttingProxyOptions {
  /**
   * Whether to keep the TLS server's close_notify from the client, so that
   * the server's close reaches the client as a bare TCP close.
   */
  withholdCloseNotify?: boolean;
}

/**
 * The size of a TLS 1.3 record holding the close_notify alert: a 5-byte
 * header, then the encrypted alert (2 bytes), its content type (1) and the
 * AEAD tag (16). TLS 1.3 encrypts the content type, so the size and being
 * the last record before the close are all that tell it from data.
 */
const CLOSE_NOTIFY_RECORD = 5 + 2 + 1 + 16;

/**
 * A TCP proxy in front of `port` that can cut the client's connection
 * abruptly: in front of a TLS server, that is a close without close_notify.
 */
export class CuttingProxy implements AsyncDisposable {
  #server: TcpServer;
  #serving: Promise<void>;
  #live = new Set<TcpConnection>();

  constructor(port: number, options: CuttingProxyOptions = {}) {
    this.#server = TcpServer.listen({
      hostname: "127.0.0.1",
      port: 0,
      onError: () => {},
    });
    this.#serving = this.#server.serve(async (client) => {
      await using upstream = await TcpClient.connect({ port });
      this.#live.add(client).add(upstream);
      const pump = async (from: TcpConnection, to: TcpConnection) => {
        try {
          for (let data; (data = await from.read()) !== null;) {
            await to.write(data);
          }
        } catch {
          // Either side went away.
        }
        to.close();
      };
      await Promise.all([
        pump(client, upstream),
        options.withholdCloseNotify
          ? withholdCloseNotify(upstream, client)
          : pump(upstream, client),
      ]);
    });
  }

  get port(): number {
    return this.#server.addr.port;
  }

  /** Closes every proxied connection at once, mid-stream. */
  cut(): void {
    for (const conn of this.#live) conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.close();
    await this.#serving;
  }
}

/**
 * Copies TLS records from `from` to `to` and closes `to` at the end, except
 * the close_notify: a record of its size is held back until another record
 * follows it (then it was data, and goes on) or the stream ends (then it is
 * dropped). A write of 2 bytes of data makes a record of that size too, so
 * a handler behind this must not wait for the client after one.
 */
async function withholdCloseNotify(
  from: TcpConnection,
  to: TcpConnection,
): Promise<void> {
  let pending = new Uint8Array(0);
  try {
    for (let data; (data = await from.read()) !== null;) {
      const joined = new Uint8Array(pending.length + data.length);
      joined.set(pending);
      joined.set(data, pending.length);
      // The end of the complete records, and where the last one starts.
      let end = 0;
      let last = 0;
      while (end + 5 <= joined.length) {
        const next = end + 5 + ((joined[end + 3]! << 8) | joined[end + 4]!);
        if (next > joined.length) break;
        last = end;
        end = next;
      }
      const ready = end - last === CLOSE_NOTIFY_RECORD ? last : end;
      if (ready > 0) await to.write(joined.subarray(0, ready));
      pending = joined.slice(ready);
    }
  } catch {
    // Either side went away.
  }
  to.close();
}
