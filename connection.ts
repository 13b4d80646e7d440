// Copyright 2026 the tcp authors. MIT license.
/**
 * {@linkcode TcpConnection}: the connection type that both
 * {@linkcode https://jsr.io/@netkit/tcp/doc/server/~/TcpServer | TcpServer} and
 * {@linkcode https://jsr.io/@netkit/tcp/doc/client/~/TcpClient | TcpClient}
 * hand out, with buffered and bounded reads, writes that always write
 * everything, half-close and web streams.
 *
 * ```ts
 * import { TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   for await (const line of conn.lines()) await conn.write(`${line.length}\n`);
 * });
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * await client.write("four\n");
 * assert.equal(await client.readLine(), "4");
 * client.close();
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @module
 */

import { describeError, formatPeer } from "./_errors.ts";
import {
  BufferedReader,
  IncompleteReadError,
  LimitExceededError,
} from "./_buffered_reader.ts";
import { decodeProxyHeader, type ProxyHeader } from "./proxy_protocol.ts";

export { IncompleteReadError, LimitExceededError };

const DEFAULT_MAX_LENGTH = 64 * 1024;

const encoder = new TextEncoder();

/**
 * Options for every read of a {@linkcode TcpConnection}: what may end its
 * wait for the peer. A read that ends early leaves the connection as it was:
 * bytes that arrive later are kept for the next read, and bytes already
 * buffered are returned without waiting, whatever the signal says.
 */
export interface ReadOptions {
  /**
   * Aborting it ends the read's wait for the peer: the read rejects with the
   * signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * How long, in milliseconds, the whole read may wait for the peer before
   * it rejects with {@linkcode Deno.errors.TimedOut}.
   *
   * @default {undefined} (as long as it takes)
   */
  timeout?: number;
  /**
   * Whether {@linkcode TcpConnection.signal} aborting (the server shutting
   * down, or {@linkcode TcpConnection.interrupt}) ends the read's wait. Pass
   * `false` for a read in the middle of a message that should still arrive
   * during a graceful shutdown, such as the rest of an upload: the shutdown's
   * timeout still bounds it.
   *
   * @default {true}
   */
  interruptible?: boolean;
}

/** Options for {@linkcode TcpConnection.readLine} and {@linkcode TcpConnection.lines}. */
export interface ReadLineOptions extends ReadOptions {
  /**
   * The longest line, in bytes and without its line ending, that is accepted.
   * A longer line rejects with a {@linkcode LimitExceededError}.
   *
   * @default {65536}
   */
  maxLength?: number;
}

/** Options for {@linkcode TcpConnection.readProxyHeader}. */
export interface ReadProxyHeaderOptions {
  /**
   * How long, in milliseconds, the whole header may take to arrive before
   * the read rejects with {@linkcode Deno.errors.TimedOut}.
   *
   * @default {undefined} (as long as it takes)
   */
  timeout?: number;
  /** Aborting it ends the wait; the read rejects with its reason. */
  signal?: AbortSignal;
  /**
   * The largest v2 header accepted, in bytes (a v1 header is at most 107).
   *
   * @default {4096}
   */
  maxLength?: number;
  /**
   * Whether {@linkcode TcpConnection.signal} aborting ends the wait, as for
   * any read; see {@linkcode ReadOptions.interruptible}.
   *
   * @default {true}
   */
  interruptible?: boolean;
}

/** Options for {@linkcode TcpConnection.readUntil}. */
export interface ReadUntilOptions extends ReadOptions {
  /**
   * The most bytes, not counting the delimiter, that may come before the
   * delimiter. More rejects with a {@linkcode LimitExceededError}.
   *
   * @default {65536}
   */
  maxLength?: number;
}

/**
 * One TCP (or TLS) connection, as accepted by a server or opened by a client.
 *
 * Reads are buffered: {@linkcode TcpConnection.read} is the socket tutorial's
 * `recv`, and {@linkcode TcpConnection.readLine},
 * {@linkcode TcpConnection.readExact} and {@linkcode TcpConnection.readUntil}
 * parse from the same buffer, so they can be mixed freely. Reads wait one at a
 * time; writes from several tasks are queued, never interleaved.
 *
 * How reads end:
 * - At the end of the stream, or once the connection is closed (by
 *   {@linkcode TcpConnection.close}, an idle timeout, or the server), reads
 *   return `null` and writes throw {@linkcode Deno.errors.BadResource}.
 * - When {@linkcode TcpConnection.signal} aborts while the connection is open
 *   (the server is shutting down, or {@linkcode TcpConnection.interrupt} was
 *   called), every read that waits for the peer, now or later, rejects with
 *   the signal's reason. Bytes already buffered are still returned, and
 *   writes still work, so a handler can say goodbye.
 * - A read's own `signal` or `timeout` ends only that read; the connection
 *   stays usable and bytes that arrive later are kept for the next read.
 *
 * @example Talking to a server
 * ```ts
 * import { TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   const name = await conn.readLine();
 *   await conn.write(`Hello, ${name}!\n`);
 * });
 * await using conn = await TcpClient.connect({ port: server.addr.port });
 * await conn.write("Ada\n");
 * assert.equal(await conn.readLine(), "Hello, Ada!");
 * assert.equal(await conn.read(), null);
 * await server.shutdown();
 * await serving;
 * ```
 */
export class TcpConnection<
  A extends Deno.NetAddr | Deno.UnixAddr = Deno.NetAddr,
> implements AsyncDisposable, Disposable {
  #conn: Deno.Conn<A>;
  #reader: BufferedReader;
  #proxyHeader: ProxyHeader | undefined;
  #remoteAddr: A | undefined;
  #localAddr: A | undefined;
  #closedLocally = false;
  /** The reason close() was given, if any. */
  #closeReason: unknown;
  #defaultReason: unknown;
  #bytesWritten = 0;
  #writeBusy = false;
  #writeWaiters: (() => void)[] = [];
  #controller: AbortController | undefined;
  #interruptReason: unknown;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /**
   * Wraps a connection from `Deno.listen`, `Deno.connect` or their TLS
   * counterparts. The wrapper owns it from then on.
   *
   * @param conn The runtime connection.
   *
   * @example Wrapping a raw connection
   * ```ts
   * import { TcpConnection } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const accepted = listener.accept();
   * using conn = new TcpConnection(
   *   await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
   * );
   * using peer = new TcpConnection(await accepted);
   * await conn.write("hi");
   * assert.equal(new TextDecoder().decode(await peer.read() ?? undefined), "hi");
   * ```
   */
  constructor(conn: Deno.Conn<A>) {
    this.#conn = conn;
    this.#reader = new BufferedReader(conn, { peer: this });
  }

  /**
   * The local address of the connection: the address the client connected
   * to, as a PROXY header says once {@linkcode TcpConnection.readProxyHeader}
   * has read one, else the socket's.
   */
  get localAddr(): A {
    return this.#localAddr ?? this.#conn.localAddr;
  }

  /**
   * The peer's address: the client's, as a PROXY header says once
   * {@linkcode TcpConnection.readProxyHeader} has read one, else the
   * socket's.
   */
  get remoteAddr(): A {
    return this.#remoteAddr ?? this.#conn.remoteAddr;
  }

  /** The socket's local address, whatever a PROXY header says. */
  get socketLocalAddr(): A {
    return this.#conn.localAddr;
  }

  /**
   * The socket's peer: the load balancer, when a PROXY header was read;
   * otherwise the same as {@linkcode TcpConnection.remoteAddr}.
   */
  get socketRemoteAddr(): A {
    return this.#conn.remoteAddr;
  }

  /**
   * The PROXY header the connection began with, once
   * {@linkcode TcpConnection.readProxyHeader} has read one: its command,
   * addresses and TLVs (ALPN, authority, unique ID, TLS details).
   */
  get proxyHeader(): ProxyHeader | undefined {
    return this.#proxyHeader;
  }

  /** Bytes received from the socket so far, including any still buffered. */
  get bytesRead(): number {
    return this.#reader.bytesRead;
  }

  /** Bytes handed to the socket so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * Whether a write is in progress: the server's `writeTimeout` closes a
   * connection whose write makes no progress for too long.
   */
  get writePending(): boolean {
    return this.#writeBusy;
  }

  /**
   * Aborted when the connection should end: the server is shutting down,
   * {@linkcode TcpConnection.interrupt} was called, or the connection was
   * closed. Its reason says which. Reads that wait for the peer end with it
   * on their own; pass it to whatever else the handler waits on.
   *
   * @example Saying goodbye on shutdown
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   try {
   *     for await (const line of conn.lines()) await conn.write(`${line}\n`);
   *   } catch (error) {
   *     if (error !== conn.signal.reason) throw error;
   *     await conn.write("bye\n");
   *   }
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write("hi\n");
   * assert.equal(await client.readLine(), "hi");
   * assert.deepEqual(await server.shutdown(), { drained: 1, cut: 0, abandoned: 0 });
   * assert.equal(await client.readLine(), "bye");
   * await serving;
   * ```
   */
  get signal(): AbortSignal {
    // Made on first use: an idle connection should not pay for one.
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#closedLocally) this.#controller.abort(this.#reason());
      else if (this.#interrupted) {
        this.#controller.abort(this.#interruptReason);
      }
    }
    return this.#controller.signal;
  }

  /** Resolves once the connection has been closed by {@linkcode TcpConnection.close}. */
  get closed(): Promise<void> {
    if (this.#closed === undefined) {
      if (this.#closedLocally) {
        this.#closed = Promise.resolve();
      } else {
        this.#closed = new Promise((resolve) => this.#resolveClosed = resolve);
      }
    }
    return this.#closed;
  }

  /**
   * Reads whatever is available, up to `maxBytes` bytes: buffered bytes first,
   * otherwise one read from the socket. This is the tutorial's `recv`.
   *
   * @param maxBytes The most bytes to return. Without it, all that is buffered
   * or arrives in one read.
   * @param options What may end the wait for the peer.
   * @returns The bytes, or `null` once the peer has finished sending (or the
   * connection was closed).
   * @throws {RangeError} If `maxBytes` is not a positive integer.
   * @throws {Deno.errors.TimedOut} If `timeout` passes first.
   *
   * @example Reading until the peer is done
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.write("hello"));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * let received = "";
   * for (let chunk; (chunk = await client.read(1024)) !== null;) {
   *   received += new TextDecoder().decode(chunk);
   * }
   * assert.equal(received, "hello");
   * await server.shutdown();
   * await serving;
   * ```
   *
   * @example Waiting at most 50 ms
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   await conn.readLine();
   *   await conn.write("late");
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await assert.rejects(client.read(1024, { timeout: 50 }), Deno.errors.TimedOut);
   * // The connection is still usable.
   * await client.write("go\n");
   * assert.equal(new TextDecoder().decode(await client.readExact(4)), "late");
   * await server.shutdown();
   * await serving;
   * ```
   */
  read(maxBytes?: number, options?: ReadOptions): Promise<Uint8Array | null> {
    if (maxBytes !== undefined && !isPositive(maxBytes)) {
      return Promise.reject(badCount("maxBytes", maxBytes));
    }
    return this.#reader.read(maxBytes, options);
  }

  /**
   * Reads into `buffer`: buffered bytes first, otherwise one read from the
   * socket straight into it. For bulk transfers: reusing one large buffer
   * keeps memory flat however much data passes.
   *
   * A read that {@linkcode TcpConnection.interrupt} ends while the socket is
   * reading straight into `buffer` cannot be taken back: the bytes that then
   * arrive still land in `buffer`, and are kept for the next read as well.
   * With `signal` or `timeout`, the socket reads into the connection's own
   * buffer instead, and `buffer` is only written when the read succeeds.
   *
   * @param buffer Where to put the bytes.
   * @param options What may end the wait for the peer.
   * @returns How many bytes were put at the start of `buffer`, or `null` at
   * the end of the stream.
   * @throws {RangeError} If `buffer` is empty.
   *
   * @example Counting the bytes of a large reply
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.write(new Uint8Array(3_000_000)));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * const buffer = new Uint8Array(1024 * 1024);
   * let total = 0;
   * for (let n; (n = await client.readInto(buffer)) !== null;) total += n;
   * assert.equal(total, 3_000_000);
   * await server.shutdown();
   * await serving;
   * ```
   */
  readInto(buffer: Uint8Array, options?: ReadOptions): Promise<number | null> {
    if (buffer.length === 0) {
      return Promise.reject(
        new RangeError("Cannot read into an empty buffer"),
      );
    }
    return this.#reader.readInto(buffer, options);
  }

  /**
   * Copies everything this connection receives to `destination` until the
   * end of the stream: an echo is `conn.copyTo(conn)`, a proxy
   * `a.copyTo(b)`. Faster than a `read()`/`write()` loop for bulk data: the
   * read buffer is reused (each piece is written before the next read), and
   * it grows under load and shrinks when idle.
   *
   * @param destination Where the bytes go.
   * @param options What may end the copy's waits for the peer; a `timeout`
   * bounds the whole copy.
   * @returns How many bytes were copied.
   * @throws {Deno.errors.BadResource} If `destination` is closed first.
   *
   * @example An echo handler
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.copyTo(conn));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write("echo\n");
   * assert.equal(await client.readLine(), "echo");
   * client.close();
   * await server.shutdown();
   * await serving;
   * ```
   */
  copyTo(
    destination: TcpConnection<Deno.NetAddr | Deno.UnixAddr>,
    options?: ReadOptions,
  ): Promise<number> {
    const reader = this.#reader;
    return reader.run(options, async (call) => {
      let copied = 0;
      for (;;) {
        // Valid until the next read from the socket: written before it.
        const chunk = reader.drain(call);
        if (chunk.length > 0) {
          if (destination.#writeBusy || destination.#closedLocally) {
            await destination.write(chunk);
          } else {
            // write() inlined: an echo spends most of its JS time in promise
            // layers, and this path is the one every echoed byte takes.
            destination.#writeBusy = true;
            try {
              for (let written = 0; written < chunk.length;) {
                let n;
                try {
                  n = await destination.#conn.write(
                    written === 0 ? chunk : chunk.subarray(written),
                  );
                } catch (error) {
                  throw destination.#wrapError("write to", error);
                }
                written += n;
                destination.#bytesWritten += n;
              }
            } finally {
              destination.#releaseWrite();
            }
          }
          copied += chunk.length;
        }
        // The socket's own promise, awaited here: one promise hop per read,
        // as in a plain read loop.
        const reading = reader.sourceRead(call);
        if (reading === undefined) {
          if (!await reader.fill(call)) return copied;
          continue;
        }
        let n;
        try {
          n = await reading;
        } catch (error) {
          reader.failed(call, error);
          return copied;
        }
        if (!reader.landed(call, n)) return copied;
      }
    });
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @param n How many bytes.
   * @param options What may end the wait for the peer; on a timeout the bytes
   * that did arrive stay buffered for the next read.
   * @returns The bytes.
   * @throws {IncompleteReadError} If the stream ends first; it carries what
   * arrived.
   * @throws {RangeError} If `n` is not a non-negative integer.
   *
   * @example Reading a length-prefixed message
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.write(new Uint8Array([0, 3, 1, 2, 3])));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * const [high, low] = await client.readExact(2);
   * assert.deepEqual(await client.readExact(high * 256 + low), new Uint8Array([1, 2, 3]));
   * await server.shutdown();
   * await serving;
   * ```
   */
  readExact(n: number, options?: ReadOptions): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) {
      return Promise.reject(
        new RangeError(
          `Cannot read exactly ${n} bytes: the count must be a non-negative integer`,
        ),
      );
    }
    return this.#reader.readExact(n, options);
  }

  /**
   * Reads up to and including `delimiter`.
   *
   * @param delimiter The bytes (or UTF-8 string) that end the piece.
   * @param options The maximum length, and what may end the wait for the peer.
   * @returns The bytes, ending with the delimiter.
   * @throws {LimitExceededError} If more than `maxLength` bytes arrive without
   * a delimiter.
   * @throws {IncompleteReadError} If the stream ends before the delimiter.
   * @throws {TypeError} If the delimiter is empty.
   *
   * @example Reading a NUL-terminated string
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.write("abc\0def"));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * const piece = await client.readUntil("\0");
   * assert.equal(new TextDecoder().decode(piece), "abc\0");
   * await server.shutdown();
   * await serving;
   * ```
   */
  readUntil(
    delimiter: string | Uint8Array,
    options?: ReadUntilOptions,
  ): Promise<Uint8Array> {
    const delim = typeof delimiter === "string"
      ? encoder.encode(delimiter)
      : delimiter;
    if (delim.length === 0) {
      return Promise.reject(
        new TypeError("Cannot read until an empty delimiter"),
      );
    }
    const maxLength = options?.maxLength ?? DEFAULT_MAX_LENGTH;
    if (!isPositive(maxLength)) {
      return Promise.reject(badCount("maxLength", maxLength));
    }
    return this.#reader.readUntil(delim, maxLength, options);
  }

  /**
   * Reads one line, ended by `\n` or `\r\n`, decoded as UTF-8.
   *
   * @param options The maximum length, and what may end the wait for the peer.
   * @returns The line without its ending; at the end of the stream, the
   * unterminated rest if there is one, then `null`.
   * @throws {LimitExceededError} If the line is longer than `maxLength` bytes.
   *
   * @example Reading a greeting
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.write("Welcome!\r\nbye"));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * assert.equal(await client.readLine(), "Welcome!");
   * assert.equal(await client.readLine(), "bye");
   * assert.equal(await client.readLine(), null);
   * await server.shutdown();
   * await serving;
   * ```
   */
  readLine(options?: ReadLineOptions): Promise<string | null> {
    const maxLength = options?.maxLength ?? DEFAULT_MAX_LENGTH;
    if (!isPositive(maxLength)) {
      return Promise.reject(badCount("maxLength", maxLength));
    }
    return this.#reader.readLine(maxLength, options);
  }

  /**
   * Iterates over the lines of the stream until it ends, as
   * {@linkcode TcpConnection.readLine} reads them.
   *
   * @param options The maximum length, and what may end the wait for the
   * peer: `signal` ends the iteration, `timeout` bounds the wait for each
   * line.
   * @returns An async iterator of lines.
   * @throws {LimitExceededError} If a line is longer than `maxLength` bytes.
   *
   * @example Answering each line
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   for await (const line of conn.lines()) await conn.write(line.toUpperCase() + "\n");
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write("a\nb\n");
   * await client.closeWrite();
   * const replies = [];
   * for await (const line of client.lines()) replies.push(line);
   * assert.deepEqual(replies, ["A", "B"]);
   * await server.shutdown();
   * await serving;
   * ```
   */
  async *lines(options?: ReadLineOptions): AsyncGenerator<string, void, void> {
    for (let line; (line = await this.readLine(options)) !== null;) {
      yield line;
    }
  }

  /**
   * Waits for the TLS handshake of a TLS connection to complete (a server's
   * happens with its first read or write otherwise); for a plain one,
   * resolves at once with `undefined`. A handshake that takes longer than
   * `timeout` closes the connection, since the runtime cannot stop one
   * otherwise.
   *
   * @param options How long the handshake may take.
   * @returns What the handshake agreed on (the ALPN protocol), or
   * `undefined` for a connection without TLS.
   * @throws {Deno.errors.TimedOut} If `timeout` passes first.
   * @throws {Deno.errors.InvalidData} If the peer is not speaking TLS, or
   * does not trust the certificate.
   *
   * @example Knowing the ALPN protocol before reading
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   assert.equal(await conn.handshake(), undefined); // plain TCP
   *   await conn.write("hi\n");
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * assert.equal(await client.readLine(), "hi");
   * await server.shutdown();
   * await serving;
   * ```
   */
  async handshake(
    options: { timeout?: number } = {},
  ): Promise<Deno.TlsHandshakeInfo | undefined> {
    const conn = this.#conn as unknown as Partial<Deno.TlsConn>;
    if (typeof conn.handshake !== "function") return undefined;
    const { timeout } = options;
    if (timeout !== undefined && !(timeout > 0 && timeout <= 2 ** 31 - 1)) {
      throw new RangeError(
        `Cannot wait for the TLS handshake with timeout ${timeout}: it must be a positive number of milliseconds`,
      );
    }
    const context = `Cannot complete the TLS handshake with "${this.#label()}"`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const handshake = conn.handshake.call(this.#conn);
      if (timeout === undefined) return await handshake;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new Deno.errors.TimedOut(
            `${context}: timed out after ${timeout} ms`,
          );
          reject(error);
          this.close(error);
        }, timeout);
      });
      handshake.catch(() => {});
      return await Promise.race([handshake, expired]);
    } catch (error) {
      throw this.#closedLocally && error === this.#closeReason
        ? error
        : describeError(error, context);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads the PROXY protocol header (v1 or v2, HAProxy's
   * `doc/proxy-protocol.txt`) that a load balancer sends first, and from
   * then on reports the client's addresses it carries as
   * {@linkcode TcpConnection.remoteAddr} and
   * {@linkcode TcpConnection.localAddr}. A `LOCAL` header (a health check),
   * an `UNKNOWN` or `UNSPEC` one, and one whose addresses are Unix socket
   * paths leave the socket's addresses in place. The bytes after the header
   * are the connection's data, as usual.
   *
   * Only call it for a peer you trust to say who the client is: the server's
   * `proxyProtocol` option does, for its trusted sources only.
   *
   * @param options How long the header may take, and how large it may be.
   * @returns The header.
   * @throws {Deno.errors.InvalidData} If the bytes are not a valid header.
   * @throws {IncompleteReadError} If the stream ends first; its `partial` is
   * empty when the peer sent nothing at all.
   * @throws {Deno.errors.TimedOut} If `timeout` passes first.
   * @throws {TypeError} If the connection's data has already been read from.
   *
   * @example Seeing the client behind a load balancer
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   await conn.readProxyHeader({ timeout: 5000 });
   *   await conn.write(`you are ${conn.remoteAddr.hostname}\n`);
   * });
   * // A client playing the balancer, relaying 203.0.113.7.
   * await using client = await TcpClient.connect({
   *   port: server.addr.port,
   *   proxyHeader: {
   *     version: 2,
   *     command: "PROXY",
   *     source: { transport: "tcp", hostname: "203.0.113.7", port: 40000 },
   *     destination: { transport: "tcp", hostname: "192.0.2.1", port: 443 },
   *   },
   * });
   * assert.equal(await client.readLine(), "you are 203.0.113.7");
   * await server.shutdown();
   * await serving;
   * ```
   */
  async readProxyHeader(
    options: ReadProxyHeaderOptions = {},
  ): Promise<ProxyHeader> {
    const reader = this.#reader;
    // Made only for a message: most headers arrive whole, at once.
    const context = () =>
      `Cannot read the PROXY header from "${
        formatPeer({
          remoteAddr: this.#conn.remoteAddr,
          localAddr: this.#conn.localAddr,
        })
      }"`;
    if (this.#proxyHeader !== undefined || reader.consumed > 0) {
      throw new TypeError(
        `${context()}: it must come first, and the connection's data has been read from`,
      );
    }
    const { timeout, maxLength, signal } = options;
    // One deadline for the whole header, with a message that says so; a
    // timer and a controller only for a caller that asks for them.
    using deadline = timeout === undefined && signal === undefined
      ? undefined
      : new Deadline(
        timeout,
        signal,
        () => `${context()}: timed out after ${timeout} ms`,
      );
    const header = await reader.run(
      { signal: deadline?.signal, interruptible: options.interruptible },
      async (call) => {
        for (;;) {
          const bytes = reader.peek(call);
          let result;
          try {
            result = decodeProxyHeader(bytes, { maxLength });
          } catch (error) {
            throw describeError(error, context());
          }
          if (result.done) {
            reader.skip(result.length);
            return result.header;
          }
          if (!await reader.fill(call, result.needed - bytes.length)) {
            throw new IncompleteReadError(
              bytes.length === 0
                ? `${context()}: the connection closed before sending one`
                : `${context()}: the connection ended after ${bytes.length} bytes of it`,
              bytes.slice(),
            );
          }
        }
      },
    );
    this.#proxyHeader = header;
    if (header.command === "PROXY") {
      // A TCP socket carries TCP addresses; a Unix socket behind nginx's
      // stream proxy gets the TCP client's. UNIX-family addresses would be a
      // path where a TCP address is expected: the socket's stay.
      if (header.source?.transport === "tcp") {
        this.#remoteAddr = header.source as A;
      }
      if (header.destination?.transport === "tcp") {
        this.#localAddr = header.destination as A;
      }
    }
    return header;
  }

  /**
   * Writes all of `data`, waiting until the socket has taken every byte (the
   * tutorial's `sendall`). Writes from concurrent tasks are queued in call
   * order.
   *
   * @param data Bytes, or a string to send as UTF-8.
   * @returns A promise that resolves once everything is written.
   * @throws {Deno.errors.BadResource} If the connection is closed.
   *
   * @example Sending a large buffer
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   let received = 0;
   *   for (let chunk; (chunk = await conn.read()) !== null;) received += chunk.length;
   *   await conn.write(`${received}\n`);
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write(new Uint8Array(8 * 1024 * 1024));
   * await client.closeWrite();
   * assert.equal(await client.readLine(), String(8 * 1024 * 1024));
   * await server.shutdown();
   * await serving;
   * ```
   */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (this.#writeBusy) {
      await new Promise<void>((resolve) => this.#writeWaiters.push(resolve));
    }
    this.#writeBusy = true;
    try {
      let written = 0;
      while (written < bytes.length) {
        if (this.#closedLocally) throw this.#closedError("write to");
        let n;
        try {
          n = await this.#conn.write(
            written === 0 ? bytes : bytes.subarray(written),
          );
        } catch (error) {
          throw this.#wrapError("write to", error);
        }
        written += n;
        this.#bytesWritten += n;
      }
    } finally {
      this.#releaseWrite();
    }
  }

  /** Hands the write side to the next queued writer, if any. */
  #releaseWrite(): void {
    const next = this.#writeWaiters.shift();
    if (next) next();
    else this.#writeBusy = false;
  }

  /**
   * Half-closes the connection: the peer reads the end of the stream, and
   * this side can still read its reply. Waits for queued writes first.
   *
   * @returns A promise that resolves once the end has been sent.
   *
   * @example Sending a request, then reading the whole reply
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   let n = 0;
   *   for (let chunk; (chunk = await conn.read()) !== null;) n += chunk.length;
   *   await conn.write(`got ${n}`);
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write("12345");
   * await client.closeWrite();
   * assert.equal(new TextDecoder().decode(await client.read() ?? undefined), "got 5");
   * await server.shutdown();
   * await serving;
   * ```
   */
  async closeWrite(): Promise<void> {
    await this.write(new Uint8Array(0));
    if (this.#closedLocally) return;
    try {
      await this.#conn.closeWrite();
    } catch (error) {
      // Already shut down, or the peer is gone: nothing left to end.
      if (!(error instanceof Deno.errors.NotConnected)) {
        throw this.#wrapError("half-close", error);
      }
    }
  }

  /**
   * Asks whoever uses the connection to finish, without closing it: aborts
   * {@linkcode TcpConnection.signal} with `reason`, and every read that waits
   * for the peer, now or later, rejects with it. Bytes already buffered are
   * still returned, and writes still work, so the handler can say goodbye
   * before it closes. The server calls it on each connection when it shuts
   * down. Calling it again does nothing.
   *
   * @param reason Why; the default is a {@linkcode Deno.errors.Interrupted}
   * naming the peer.
   *
   * @example Kicking a client out of a loop
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   setTimeout(() => conn.interrupt(new Error("you are out")), 20);
   *   const error = await conn.readLine().catch((e) => e);
   *   await conn.write(`${error.message}\n`);
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * assert.equal(await client.readLine(), "you are out");
   * await server.shutdown();
   * await serving;
   * ```
   */
  interrupt(reason?: unknown): void {
    if (this.#interrupted || this.#closedLocally) return;
    this.#interruptReason = reason ?? new Deno.errors.Interrupted(
      `Connection to "${this.#label()}" was interrupted`,
    );
    this.#controller?.abort(this.#interruptReason);
    this.#reader.stop(this.#interruptReason);
  }

  get #interrupted(): boolean {
    return this.#interruptReason !== undefined;
  }

  /**
   * Closes the connection now. Pending reads return `null`, pending and later
   * writes throw. Calling it again does nothing; it never throws.
   *
   * @param reason Why, for {@linkcode TcpConnection.signal}'s reason (a
   * server closing an idle connection gives a `TimedOut` here); the default
   * is a {@linkcode Deno.errors.BadResource} saying the connection is closed.
   *
   * @example Closing twice is harmless
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = await TcpClient.connect({ port: server.addr.port });
   * client.close();
   * client.close();
   * await client.closed;
   * ```
   */
  close(reason?: unknown): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#closeReason = reason;
    this.#reader.close();
    try {
      this.#conn.close();
    } catch {
      // The runtime already dropped it; the connection is closed either way.
    }
    if (this.#controller && !this.#controller.signal.aborted) {
      this.#controller.abort(this.#reason());
    }
    this.#resolveClosed?.();
  }

  /**
   * Turns Nagle's algorithm off (`true`) or on. Off, small writes go out at
   * once instead of waiting up to ~40 ms to be batched. A TLS connection
   * ignores it.
   *
   * @param noDelay Whether to send small writes immediately.
   *
   * @example Enabling Nagle's algorithm for a bulk upload
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * client.setNoDelay(false);
   * ```
   */
  setNoDelay(noDelay = true): void {
    if (this.#closedLocally) return;
    if ("setNoDelay" in this.#conn) {
      (this.#conn as unknown as Deno.TcpConn).setNoDelay(noDelay);
    }
  }

  /**
   * Turns TCP keep-alive probes on or off. A TLS connection ignores it.
   *
   * @param keepAlive Whether to send keep-alive probes.
   *
   * @example Keeping a long-lived connection alive
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * client.setKeepAlive(true);
   * ```
   */
  setKeepAlive(keepAlive = true): void {
    if (this.#closedLocally) return;
    if ("setKeepAlive" in this.#conn) {
      (this.#conn as unknown as Deno.TcpConn).setKeepAlive(keepAlive);
    }
  }

  /**
   * The incoming bytes as a stream, starting with any already buffered.
   * Cancelling it or reaching its end does not close the connection, so the
   * other direction keeps working; cancelling also ends a read it has waiting,
   * and what arrives later is kept for the next read. Do not read by other
   * means while it is in use.
   *
   * @example Piping a reply into a string
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.write("streamed"));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * const text = await new Response(client.readable).text();
   * assert.equal(text, "streamed");
   * await server.shutdown();
   * await serving;
   * ```
   */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= this.#makeReadable();
    return this.#readable;
  }

  /**
   * A stream that writes to the connection. Closing it half-closes the
   * connection ({@linkcode TcpConnection.closeWrite}), so replies can still be
   * read; aborting it does nothing to the socket.
   *
   * @example Piping a stream into the connection
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   await conn.readable.pipeTo(conn.writable);
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await ReadableStream.from(["echo ", "me"])
   *   .pipeThrough(new TextEncoderStream())
   *   .pipeTo(client.writable);
   * assert.equal(await new Response(client.readable).text(), "echo me");
   * await server.shutdown();
   * await serving;
   * ```
   */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.closeWrite(),
    });
    return this.#writable;
  }

  /** Closes the connection; the same as {@linkcode TcpConnection.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the connection; the same as {@linkcode TcpConnection.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #makeReadable(): ReadableStream<Uint8Array> {
    const cancelled = new AbortController();
    const { signal } = cancelled;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let chunk;
        try {
          chunk = await this.read(undefined, { signal });
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
        // Cancelled while the read was settling: give the bytes back (they
        // were the last taken, and nothing else has read since).
        if (signal.aborted) {
          if (chunk) this.#reader.unread(chunk.length);
          return;
        }
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
      cancel: () => {
        cancelled.abort();
        // A later `readable` starts afresh from the buffer.
        this.#readable = undefined;
      },
    }, { highWaterMark: 0 });
  }

  /** The peer's address, for messages; made only when one is needed. */
  #label(): string {
    return formatPeer(this);
  }

  /** Why the connection is closed, for `signal.reason`. */
  #reason(): unknown {
    // Made only when asked for: an Error costs a stack trace, and most
    // connections close without anyone looking.
    return this.#closeReason ??
      (this.#defaultReason ??= new Deno.errors.BadResource(
        `Connection to "${this.#label()}" is closed`,
      ));
  }

  /**
   * Why a write cannot go on: the reason the connection was closed with (a
   * write-stall deadline, an idle timeout, the server shutting down), which
   * says more than that it is closed.
   */
  #closedError(operation: string): unknown {
    if (this.#closeReason instanceof Error) return this.#closeReason;
    return new Deno.errors.BadResource(
      `Cannot ${operation} "${this.#label()}": the connection is closed`,
    );
  }

  #wrapError(operation: string, error: unknown): unknown {
    if (this.#closedLocally) return this.#closedError(operation);
    return describeError(error, `Cannot ${operation} "${this.#label()}"`);
  }
}

function isPositive(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

function badCount(name: string, value: number): RangeError {
  return new RangeError(
    `Cannot read: "${name}" must be a positive integer, received ${value}`,
  );
}

/**
 * A signal that aborts when `timeout` ms pass, with a `TimedOut` whose
 * message `describe` makes, or when `signal` aborts, with its reason.
 */
class Deadline implements Disposable {
  #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.#controller.abort(this.#signal!.reason);

  constructor(
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    describe: () => string,
  ) {
    if (timeout !== undefined) {
      if (!(timeout > 0 && timeout <= 2 ** 31 - 1)) {
        throw new RangeError(
          `Cannot read with timeout ${timeout}: it must be a positive number of milliseconds`,
        );
      }
      this.#timer = setTimeout(() => {
        this.#controller.abort(new Deno.errors.TimedOut(describe()));
      }, timeout);
    }
    if (signal !== undefined) {
      this.#signal = signal;
      if (signal.aborted) this.#controller.abort(signal.reason);
      else signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}
