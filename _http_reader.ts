// Copyright 2026 the tcp authors. MIT license.
// The connection under fetchToFile: a raw Deno.Conn with one read buffer that
// is reused for the whole download. TcpConnection allocates a fresh buffer
// for every read it hands out (earlier views must stay valid), which for a
// 1 GiB body is 1 GiB of garbage: peak memory then depends on when the
// garbage collector runs, measured at ~110 MiB against ~40 MiB here. Views
// returned by this reader are valid only until its next read.

import { describeError, formatAddr } from "./_errors.ts";

/** The read buffer: large reads, one runtime call per MiB at best. */
const BUFFER_SIZE = 1024 * 1024;
/** A read at least this large means more is probably waiting. */
const BULK_READ = 64 * 1024;

/** A line did not end within its limit. */
export class LineTooLong extends Error {}
/** The stream ended in the middle of a line or a fixed-size read. */
export class Truncated extends Error {}

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  timeout: number;
  signal: AbortSignal | undefined;
  caCerts: string[] | undefined;
}

/**
 * Connects to the host of `url`, with TLS for `https:`, as TcpClient.connect
 * does; errors are prefixed with `where`.
 */
export async function connect(
  url: URL,
  options: ConnectOptions,
  where: string,
): Promise<HttpReader> {
  const https = url.protocol === "https:";
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? (https ? 443 : 80) : Number(url.port);
  const address = formatAddr({ hostname, port });
  const { signal, timeout } = options;
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new Deno.errors.TimedOut(
        `${where}: connecting to "${address}" timed out after ${timeout} ms`,
      ),
    );
  }, timeout);
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({
      hostname,
      port,
      transport: "tcp",
      signal: controller.signal,
    });
    if (https) {
      const tls = await Deno.startTls(conn as Deno.TcpConn, {
        hostname,
        caCerts: options.caCerts,
      });
      conn = tls;
      // handshake() takes no signal: closing the socket cancels it.
      const cancel = () => tls.close();
      controller.signal.addEventListener("abort", cancel, { once: true });
      try {
        await tls.handshake();
      } finally {
        controller.signal.removeEventListener("abort", cancel);
      }
    } else {
      (conn as Deno.TcpConn).setNoDelay(true);
    }
    return new HttpReader(conn);
  } catch (error) {
    try {
      conn?.close();
    } catch {
      // Closed by the cancellation already.
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    if (
      error instanceof Error && error.constructor === Error &&
      /lookup/i.test(error.message)
    ) {
      throw new Error(
        `${where}: cannot resolve host "${hostname}": ${error.message}`,
        { cause: error },
      );
    }
    throw describeError(error, `${where}: cannot connect to "${address}"`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Buffered reads and plain writes over one connection. */
export class HttpReader {
  #conn: Deno.Conn;
  // Bytes at [#start, #end) are read but not consumed.
  #buf = new Uint8Array(BUFFER_SIZE);
  #start = 0;
  #end = 0;
  #eof = false;
  #closed = false;
  /** Bytes received so far; an idle check watches it. */
  bytesRead = 0;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Writes all of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let n = 0; n < bytes.length;) {
      n += await this.#conn.write(bytes.subarray(n));
    }
  }

  /** Closes the connection; a pending read then ends the stream. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already gone.
    }
  }

  /**
   * Reads once more from the socket, after moving unconsumed bytes to the
   * front of the buffer (which invalidates views handed out before).
   * With `bulk`, goes on reading while data streams in, so that one file
   * write takes up to a whole buffer.
   */
  async #fill(bulk = false): Promise<boolean> {
    if (this.#eof || this.#closed) return false;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    for (;;) {
      let n: number | null;
      try {
        n = await this.#conn.read(this.#buf.subarray(this.#end));
      } catch (error) {
        // A close from our side (idle, abort) interrupts the read: that is
        // the end of the stream, and the closer knows why.
        if (this.#closed) n = null;
        else throw error;
      }
      if (n === null) {
        this.#eof = true;
        return this.#end > this.#start;
      }
      this.#end += n;
      this.bytesRead += n;
      if (!bulk || n < BULK_READ || this.#buf.length - this.#end < BULK_READ) {
        return true;
      }
    }
  }

  /**
   * Reads a line ending in LF, of at most `limit` bytes with its LF.
   *
   * @returns The line (a view), or `null` at the end of the stream.
   * @throws {LineTooLong} If there is no LF within `limit` bytes.
   * @throws {Truncated} If the stream ends in the line.
   */
  async readLine(limit: number): Promise<Uint8Array | null> {
    let scanned = 0;
    for (;;) {
      const from = this.#start + scanned;
      const index = this.#buf.subarray(0, this.#end).indexOf(0x0a, from);
      if (index !== -1) {
        if (index + 1 - this.#start > limit) throw new LineTooLong();
        const line = this.#buf.subarray(this.#start, index + 1);
        this.#start = index + 1;
        return line;
      }
      scanned = this.#end - this.#start;
      if (scanned >= limit) throw new LineTooLong();
      if (!await this.#fill()) {
        if (this.#end === this.#start) return null;
        throw new Truncated();
      }
    }
  }

  /** Reads one byte, or `null` at the end of the stream. */
  async readByte(): Promise<number | null> {
    if (this.#start === this.#end && !await this.#fill()) return null;
    return this.#buf[this.#start++]!;
  }

  /**
   * Reads up to `max` bytes: what is buffered, or else as much as streams in
   * up to a buffer full.
   *
   * @returns A view, valid until the next read, or `null` at the end.
   */
  async read(max: number): Promise<Uint8Array | null> {
    if (this.#start === this.#end && !await this.#fill(true)) return null;
    const n = Math.min(this.#end - this.#start, max);
    const bytes = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return bytes;
  }
}
