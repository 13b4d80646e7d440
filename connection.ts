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

import { describeError, formatAddr } from "./_errors.ts";
import { kAbort, kCloseWith, kOnClose } from "./_internal.ts";

/** The smallest read buffer: what an idle connection holds while it waits. */
const MIN_READ_SIZE = 1024;
/**
 * The largest read: bulk transfers grow to it, one runtime call per read.
 * Reads that hand out views need a fresh buffer each time, and a fresh large
 * buffer costs more than the calls it saves, so they stop at a smaller size;
 * copyTo() and readLine() reuse theirs and go further.
 *
 * Why 4 MiB: in the bulk benchmark (bench/RESULTS.md) a copyTo() echo that
 * may ask for 4 MiB per read moved ~2x the bytes of a 64 KiB loop per server
 * CPU second, run after run, with half the kernel time per MiB; at 1-2 MiB it
 * flipped between that and ~1.1x from one run to the next. Most reads still
 * return 64-128 KiB; what grows is what each read may take. The price is
 * memory while data arrives faster than it is written: the echo server's RSS
 * with 4 busy connections was ~100 MiB, against ~70 MiB at 1 MiB. A
 * connection that goes quiet drops back to a small buffer on its next short
 * read.
 */
const MAX_READ_SIZE = 4 * 1024 * 1024;
const MAX_VIEW_READ_SIZE = 256 * 1024;
const DEFAULT_MAX_LENGTH = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const LF = encoder.encode("\n");

/**
 * Thrown by {@linkcode TcpConnection.readExact} and
 * {@linkcode TcpConnection.readUntil} when the stream ends before the read is
 * complete. {@linkcode IncompleteReadError.partial} holds what did arrive.
 *
 * @example Catching a short read
 * ```ts
 * import { IncompleteReadError, TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve((conn) => conn.write("abc"));
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * const error = await client.readExact(10).catch((e) => e);
 * assert.ok(error instanceof IncompleteReadError);
 * assert.equal(new TextDecoder().decode(error.partial), "abc");
 * assert.equal(error.expected, 10);
 * await server.shutdown();
 * await serving;
 * ```
 */
export class IncompleteReadError extends Error {
  /** The bytes that arrived before the end of the stream. */
  readonly partial: Uint8Array;
  /** How many bytes the read wanted, or `undefined` when it waited for a delimiter. */
  readonly expected: number | undefined;

  /**
   * Makes an error for a read that ended early.
   *
   * @param message What failed.
   * @param partial The bytes that did arrive.
   * @param expected How many bytes were wanted, if known.
   */
  constructor(message: string, partial: Uint8Array, expected?: number) {
    super(message);
    this.name = "IncompleteReadError";
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * Thrown by {@linkcode TcpConnection.readLine},
 * {@linkcode TcpConnection.lines} and {@linkcode TcpConnection.readUntil} when
 * no delimiter arrives within the maximum length. The connection holds at most
 * that many bytes, so a peer that never sends a newline cannot exhaust memory.
 *
 * @example Bounding a line
 * ```ts
 * import { LimitExceededError, TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve((conn) => conn.write("x".repeat(100) + "\n"));
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * await assert.rejects(client.readLine({ maxLength: 10 }), LimitExceededError);
 * await server.shutdown();
 * await serving;
 * ```
 */
export class LimitExceededError extends Error {
  /** The limit, in bytes, that was exceeded. */
  readonly limit: number;

  /**
   * Makes an error for a read that exceeded its limit.
   *
   * @param message What failed.
   * @param limit The limit in bytes.
   */
  constructor(message: string, limit: number) {
    super(message);
    this.name = "LimitExceededError";
    this.limit = limit;
  }
}

/** Options for {@linkcode TcpConnection.readLine} and {@linkcode TcpConnection.lines}. */
export interface ReadLineOptions {
  /**
   * The longest line, in bytes and without its line ending, that is accepted.
   * A longer line rejects with a {@linkcode LimitExceededError}.
   *
   * @default {65536}
   */
  maxLength?: number;
}

/** Options for {@linkcode TcpConnection.readUntil}. */
export interface ReadUntilOptions {
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
 * time; writes from several tasks are queued, never interleaved. After
 * {@linkcode TcpConnection.close}, reads return `null` and writes throw
 * {@linkcode Deno.errors.BadResource}.
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
export class TcpConnection implements AsyncDisposable, Disposable {
  #conn: Deno.Conn;
  // Bytes at [#start, #end) of #buf are read but not consumed. Once a view of
  // #buf has been handed out (read() and friends return views), its bytes are
  // never overwritten: a new buffer is allocated instead. Until then, bytes
  // are moved down in place, so line-by-line protocols reuse one buffer.
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #shared = false;
  #target: Uint8Array | undefined;
  #readSize = MIN_READ_SIZE;
  #eof = false;
  #reading = false;
  #closedLocally = false;
  #closeReason: unknown;
  #bytesRead = 0;
  #bytesWritten = 0;
  #writeBusy = false;
  #writeWaiters: (() => void)[] = [];
  #controller: AbortController | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  #onClose: (() => void) | undefined;
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
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** @internal */
  [kOnClose](callback: () => void): void {
    this.#onClose = callback;
  }

  /** The local address of the connection. */
  get localAddr(): Deno.NetAddr {
    return this.#conn.localAddr as Deno.NetAddr;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.NetAddr {
    return this.#conn.remoteAddr as Deno.NetAddr;
  }

  /** Bytes received from the socket so far, including any still buffered. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes handed to the socket so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * Aborted when the connection should end: the server is shutting down, or
   * the connection was closed. Handlers pass it to whatever they wait on. A
   * read that is waiting for the peer does not end on its own: a handler that
   * may be blocked in a read when the server shuts down can close the
   * connection from an abort listener, and its read then returns `null`.
   *
   * @example Ending a waiting read on shutdown
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   conn.signal.addEventListener("abort", () => conn.close());
   *   for await (const line of conn.lines()) await conn.write(`${line}\n`);
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write("hi\n");
   * assert.equal(await client.readLine(), "hi");
   * assert.deepEqual(await server.shutdown(), { drained: 1, cut: 0 });
   * await serving;
   * ```
   */
  get signal(): AbortSignal {
    // Made on first use: an idle connection should not pay for one.
    this.#controller ??= new AbortController();
    if (this.#closedLocally && !this.#controller.signal.aborted) {
      this.#controller.abort(this.#reason());
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
   * @returns The bytes, or `null` once the peer has finished sending (or the
   * connection was closed).
   * @throws {RangeError} If `maxBytes` is not a positive integer.
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
   */
  async read(maxBytes?: number): Promise<Uint8Array | null> {
    if (maxBytes !== undefined) checkPositive("maxBytes", maxBytes);
    this.#beginRead();
    try {
      if (this.#end === this.#start) {
        // #fill inlined: one async layer less on the path every echo takes.
        if (this.#eof || this.#closedLocally) return null;
        const target = this.#prepare(0);
        let n: number | null;
        try {
          n = await this.#conn.read(target);
        } catch (error) {
          return this.#readFailed(error);
        }
        if (!this.#received(n, target.length)) return null;
      }
      return this.#take(
        Math.min(this.#end - this.#start, maxBytes ?? Infinity),
      );
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Reads into `buffer`: buffered bytes first, otherwise one read from the
   * socket straight into it. For bulk transfers: reusing one large buffer
   * keeps memory flat however much data passes.
   *
   * @param buffer Where to put the bytes.
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
  async readInto(buffer: Uint8Array): Promise<number | null> {
    if (buffer.length === 0) {
      throw new RangeError("Cannot read into an empty buffer");
    }
    this.#beginRead();
    try {
      const pending = this.#end - this.#start;
      if (pending > 0) {
        const n = Math.min(pending, buffer.length);
        buffer.set(this.#buf.subarray(this.#start, this.#start + n));
        this.#start += n;
        return n;
      }
      if (this.#eof || this.#closedLocally) return null;
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch (error) {
        return this.#readFailed(error);
      }
      return this.#counted(n) ? n : null;
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Copies everything this connection receives to `destination` until the
   * end of the stream: an echo is `conn.copyTo(conn)`, a proxy
   * `a.copyTo(b)`. Faster than a `read()`/`write()` loop for bulk data: the
   * read buffer is reused (each piece is written before the next read), and
   * it grows under load and shrinks when idle.
   *
   * @param destination Where the bytes go.
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
  async copyTo(destination: TcpConnection): Promise<number> {
    this.#beginRead();
    let copied = 0;
    try {
      for (;;) {
        if (this.#end > this.#start) {
          const chunk = this.#buf.subarray(this.#start, this.#end);
          this.#start = this.#end;
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
        if (this.#eof || this.#closedLocally) return copied;
        // Everything taken has been written: unless read() handed out views
        // of the buffer, it can be refilled from the start.
        if (!this.#shared) this.#start = this.#end = 0;
        const target = this.#prepare(0);
        let n: number | null;
        try {
          n = await this.#conn.read(target);
        } catch (error) {
          return this.#readFailed(error) ?? copied;
        }
        if (!this.#received(n, target.length)) return copied;
      }
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @param n How many bytes.
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
  async readExact(n: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(
        `Cannot read exactly ${n} bytes: the count must be a non-negative integer`,
      );
    }
    this.#beginRead();
    try {
      while (this.#end - this.#start < n) {
        if (await this.#fill(n - (this.#end - this.#start)) === null) {
          if (this.#closedLocally) throw this.#closedError("read from");
          const partial = this.#take(this.#end - this.#start);
          throw new IncompleteReadError(
            `Cannot read ${n} bytes from "${this.#label()}": the stream ended after ${partial.length} bytes`,
            partial,
            n,
          );
        }
      }
      return this.#take(n);
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Reads up to and including `delimiter`.
   *
   * @param delimiter The bytes (or UTF-8 string) that end the piece.
   * @param options The maximum length.
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
  async readUntil(
    delimiter: string | Uint8Array,
    options?: ReadUntilOptions,
  ): Promise<Uint8Array> {
    const delim = typeof delimiter === "string"
      ? encoder.encode(delimiter)
      : delimiter;
    if (delim.length === 0) {
      throw new TypeError("Cannot read until an empty delimiter");
    }
    const maxLength = checkMaxLength(options?.maxLength);
    this.#beginRead();
    try {
      const end = await this.#scan(delim, maxLength);
      if (end === -1) {
        if (this.#closedLocally) throw this.#closedError("read from");
        const partial = this.#take(this.#end - this.#start);
        throw new IncompleteReadError(
          `Cannot read until the delimiter from "${this.#label()}": the stream ended after ${partial.length} bytes`,
          partial,
        );
      }
      return this.#take(end - this.#start);
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Reads one line, ended by `\n` or `\r\n`, decoded as UTF-8.
   *
   * @param options The maximum length.
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
  async readLine(options?: ReadLineOptions): Promise<string | null> {
    const maxLength = checkMaxLength(options?.maxLength);
    this.#beginRead();
    try {
      // One byte of slack leaves room for the \r of \r\n.
      const end = await this.#scan(LF, maxLength, 1);
      if (end === -1) {
        if (this.#end === this.#start) return null;
        if (this.#end - this.#start > maxLength) this.#tooLong(maxLength);
        const rest = decoder.decode(this.#buf.subarray(this.#start, this.#end));
        this.#start = this.#end;
        return rest;
      }
      let stop = end - 1;
      if (stop > this.#start && this.#buf[stop - 1] === 0x0d) stop--;
      if (stop - this.#start > maxLength) this.#tooLong(maxLength);
      const line = this.#buf.subarray(this.#start, stop);
      this.#start = end;
      return decoder.decode(line);
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Iterates over the lines of the stream until it ends, as
   * {@linkcode TcpConnection.readLine} reads them.
   *
   * @param options The maximum length.
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
   * let received = 0;
   * const serving = server.serve(async (conn) => {
   *   for (let chunk; (chunk = await conn.read()) !== null;) received += chunk.length;
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write(new Uint8Array(8 * 1024 * 1024));
   * client.close();
   * await server.shutdown();
   * await serving;
   * assert.equal(received, 8 * 1024 * 1024);
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
   * Closes the connection now. Pending reads return `null`, pending and later
   * writes throw. Calling it again does nothing; it never throws.
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
  close(): void {
    this.#closeWith(undefined);
  }

  /** @internal */
  [kCloseWith](reason: unknown): void {
    this.#closeWith(reason);
  }

  /** @internal */
  [kAbort](reason: unknown): void {
    this.#controller ??= new AbortController();
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
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
      (this.#conn as Deno.TcpConn).setNoDelay(noDelay);
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
      (this.#conn as Deno.TcpConn).setKeepAlive(keepAlive);
    }
  }

  /**
   * The incoming bytes as a stream, starting with any already buffered.
   * Cancelling it or reaching its end does not close the connection, so the
   * other direction keeps working. Do not read by other means while it is
   * in use.
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
    let cancelled = false;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.read();
        // Cancelled while the read was pending: give the bytes back (the
        // buffer is never overwritten, and they were the last taken).
        if (cancelled) {
          if (chunk) this.#start -= chunk.length;
          return;
        }
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
      cancel: () => {
        cancelled = true;
        // A later `readable` starts afresh from the buffer.
        this.#readable = undefined;
      },
    }, { highWaterMark: 0 });
  }

  #closeWith(reason: unknown): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#closeReason = reason;
    try {
      this.#conn.close();
    } catch {
      // The runtime already dropped it; the connection is closed either way.
    }
    if (this.#controller && !this.#controller.signal.aborted) {
      this.#controller.abort(this.#reason());
    }
    this.#resolveClosed?.();
    this.#onClose?.();
    this.#onClose = undefined;
  }

  /** The peer's address, for messages; made only when one is needed. */
  #label(): string {
    return formatAddr(this.#conn.remoteAddr as Deno.NetAddr);
  }

  /** Why the connection is closed, for `signal.reason`. */
  #reason(): unknown {
    // Made only when asked for: an Error costs a stack trace, and most
    // connections close without anyone looking.
    return this.#closeReason ??= new Deno.errors.BadResource(
      `Connection to "${this.#label()}" is closed`,
    );
  }

  #closedError(operation: string): Error {
    return new Deno.errors.BadResource(
      `Cannot ${operation} "${this.#label()}": the connection is closed`,
    );
  }

  #wrapError(operation: string, error: unknown): unknown {
    if (this.#closedLocally) return this.#closedError(operation);
    return describeError(error, `Cannot ${operation} "${this.#label()}"`);
  }

  #beginRead(): void {
    if (this.#reading) {
      throw new Deno.errors.Busy(
        `Cannot read from "${this.#label()}": another read is pending`,
      );
    }
    this.#reading = true;
  }

  /** Returns `n` buffered bytes and consumes them. */
  #take(n: number): Uint8Array {
    const bytes = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    this.#shared = true;
    return bytes;
  }

  /**
   * Reads once from the socket into the buffer.
   *
   * @param wanted How many more bytes the caller needs, to size the read.
   * @returns The count read, or `null` at the end of the stream.
   */
  async #fill(wanted = 0): Promise<number | null> {
    if (this.#eof || this.#closedLocally) return null;
    const target = this.#prepare(wanted);
    let n: number | null;
    try {
      n = await this.#conn.read(target);
    } catch (error) {
      return this.#readFailed(error);
    }
    return this.#received(n, target.length) ? n : null;
  }

  /** Makes room in the buffer for a read; returns where the read goes. */
  #prepare(wanted: number): Uint8Array {
    const pending = this.#end - this.#start;
    // Size by what has arrived, never by what the peer announced: at most
    // doubling what is buffered, so long pieces are copied O(log n) times.
    const need = Math.max(
      this.#shared
        ? Math.min(this.#readSize, MAX_VIEW_READ_SIZE)
        : this.#readSize,
      Math.min(wanted, Math.max(pending, MAX_VIEW_READ_SIZE)),
    );
    let room = this.#buf.length - this.#end;
    if (
      !this.#shared && this.#start > 0 && room < need / 2 &&
      this.#buf.length - pending >= need
    ) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = pending;
      room = this.#buf.length - pending;
    }
    // A fresh buffer when there is too little room, or so much that an idle
    // connection would sit on a large one.
    if (room < need / 2 || room > 4 * need) {
      const next = new Uint8Array(pending + need);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = pending;
      this.#shared = false;
    }
    // A loop that refills the same empty buffer reads into the same place:
    // reuse the view rather than allocate one per read.
    if (
      this.#target?.buffer !== this.#buf.buffer ||
      this.#target.byteOffset !== this.#end
    ) {
      this.#target = this.#buf.subarray(this.#end);
    }
    return this.#target;
  }

  /**
   * Accounts for a socket read of `asked` bytes into the buffer.
   *
   * @returns Whether bytes arrived; `false` at the end of the stream.
   */
  #received(n: number | null, asked: number): n is number {
    if (!this.#counted(n)) return false;
    this.#end += n;
    // Grow while reads come back full; drop back once they come back small, so
    // a connection that goes idle waits with a small buffer.
    if (n === asked) {
      this.#readSize = Math.min(
        Math.max(this.#readSize, asked) * 2,
        MAX_READ_SIZE,
      );
    } else if (n < this.#readSize / 8) {
      // Follow the reads down rather than drop to the minimum: a short read
      // in the middle of a bulk transfer should not cost ten regrowths, and
      // the tiny read before a pause still brings the buffer down.
      this.#readSize = Math.max(MIN_READ_SIZE, n * 2);
    }
    return true;
  }

  /**
   * Counts the bytes of a socket read, wherever they went.
   *
   * @returns Whether bytes arrived; `false` (and the stream is at its end)
   * when the read found the end or the connection was closed meanwhile.
   */
  #counted(n: number | null): n is number {
    if (n === null || this.#closedLocally) {
      this.#eof = true;
      return false;
    }
    this.#bytesRead += n;
    return true;
  }

  /** A failed socket read: the end if we closed the connection, else an error. */
  #readFailed(error: unknown): null {
    if (this.#closedLocally) return null;
    throw this.#wrapError("read from", error);
  }

  /**
   * Fills the buffer until `delim` is buffered or the limit is passed.
   *
   * @returns The offset just past the delimiter, or -1 at the end of stream.
   */
  async #scan(
    delim: Uint8Array,
    maxLength: number,
    slack = 0,
  ): Promise<number> {
    let from = this.#start;
    for (;;) {
      const index = indexOf(this.#buf, delim, from, this.#end);
      if (index !== -1) {
        if (index - this.#start > maxLength + slack) this.#tooLong(maxLength);
        return index + delim.length;
      }
      if (this.#end - this.#start > maxLength + slack + delim.length - 1) {
        this.#tooLong(maxLength);
      }
      const scanned = this.#end - this.#start;
      if (await this.#fill(scanned) === null) return -1;
      // The delimiter may straddle the old end.
      from = this.#start + Math.max(0, scanned - delim.length + 1);
    }
  }

  #tooLong(maxLength: number): never {
    throw new LimitExceededError(
      `Cannot read from "${this.#label()}": no delimiter within ${maxLength} bytes`,
      maxLength,
    );
  }
}

function indexOf(
  haystack: Uint8Array,
  needle: Uint8Array,
  from: number,
  to: number,
): number {
  const first = needle[0]!;
  const last = to - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last;) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

function checkPositive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `Cannot read: "${name}" must be a positive integer, received ${value}`,
    );
  }
}

function checkMaxLength(maxLength: number | undefined): number {
  if (maxLength === undefined) return DEFAULT_MAX_LENGTH;
  checkPositive("maxLength", maxLength);
  return maxLength;
}
