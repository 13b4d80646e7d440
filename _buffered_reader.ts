// Copyright 2026 the tcp authors. MIT license.
// The package's one read buffer, over anything with `read(p)`: a
// TcpConnection reads through it, and so does the HTTP client's chunked
// decoder. Every wait for the source happens here, which is what makes reads
// cancellable without losing bytes.

import { describeError, formatPeer } from "./_errors.ts";

/** Where bytes come from: a `Deno.Conn`, or a reader of another buffer. */
export interface ByteSource {
  /** Reads into `p`; resolves with the count, or `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
}

/** What may end one call's wait for the source early. */
export interface WaitOptions {
  /** Aborting it ends the wait; the call rejects with its reason. */
  signal?: AbortSignal;
  /** Milliseconds the call may take before it rejects with `TimedOut`. */
  timeout?: number;
  /** `false` lets the call wait on after {@linkcode BufferedReader.stop}. */
  interruptible?: boolean;
}

/** A connection's ends, to name its peer in messages. */
export interface Peer {
  readonly remoteAddr: Deno.NetAddr | Deno.UnixAddr;
  readonly localAddr: Deno.NetAddr | Deno.UnixAddr;
}

/** Options for {@linkcode BufferedReader}. */
export interface BufferedReaderOptions {
  /**
   * A buffer to read into, reused in place: views handed out are valid only
   * until the next call. Without it the buffer adapts to the traffic and
   * views stay valid for good.
   */
  buffer?: Uint8Array;
  /**
   * The peer, named in messages: `Cannot read from "host:port": ...`. Its
   * address is read only when a message needs it.
   */
  peer?: Peer;
}

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

/**
 * How long a wait for the source may go on after stop(): long enough for a
 * read of bytes the socket already holds to land. A timer of 0 ms lost that
 * race now and then while the test suite ran in parallel (it never did on a
 * quiet machine, 200 times in 200); a few milliseconds more cost a shutdown
 * nothing it would notice.
 */
const STOP_GRACE = 5;

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const LF = new Uint8Array([0x0a]);

/**
 * Thrown when the stream ends before a read is complete.
 * {@linkcode IncompleteReadError.partial} holds what did arrive.
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
 * Thrown when no delimiter arrives within the maximum length. The reader
 * holds at most that many bytes, so a peer that never sends a newline cannot
 * exhaust memory.
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

/**
 * Thrown by a routine of a call that has already ended (cancelled or
 * stopped) and has no result to give: {@linkcode BufferedReader.run} drops it.
 */
const ENDED: unique symbol = Symbol("ended");

/**
 * A read buffer over a {@linkcode ByteSource}, like Go's `bufio.Reader`.
 *
 * One call at a time; a second one while the first runs is `Busy`. A call
 * can end before its work is done: by its own signal or timeout, or by
 * {@linkcode BufferedReader.stop} while it waits for the source. Its promise
 * then rejects at once, and the source's read, which cannot be taken back,
 * stays in flight: its bytes land in the buffer for the next call, so
 * nothing is lost.
 *
 * The settle-able promise is per call, not per wait: a loop such as
 * `copyTo()` awaits the source's own promise, read after read, exactly as a
 * plain read loop does, and pays nothing for being cancellable. A promise per
 * wait cost ~1,200 instructions per echoed round trip (callgrind, ping-pong
 * over loopback), 3% of the whole round trip, client included.
 */
export class BufferedReader {
  #source: ByteSource;
  #peer: Peer | undefined;
  #fixed: boolean;
  // Bytes at [#start, #end) of #buf are read but not consumed. With an
  // adaptive buffer, once a view of #buf has been handed out its bytes are
  // never overwritten: a new buffer is allocated instead (#shared). Until
  // then, bytes are moved down in place, so line-by-line protocols reuse one
  // buffer.
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #shared = false;
  #view: Uint8Array | undefined;
  #readSize = MIN_READ_SIZE;
  #bytesRead = 0;
  #eof = false;
  #closed = false;

  // The running call: its id (0 when none), how to settle its promise, and
  // what may end it early.
  #call = 0;
  #calls = 0;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((reason: unknown) => void) | undefined;
  /** The running call waits for the source now. */
  #waiting = false;
  /** The running call waits on after stop(). */
  #shielded = false;
  /** The running call's signal and timer, while they are armed. */
  #armed: Armed | undefined;
  /** Set when the running call's signal was aborted before it started. */
  #cancelled: { reason: unknown } | undefined;
  /** Set by stop(): every later wait ends with its reason. */
  #stopped: { reason: unknown } | undefined;
  #stopTimer: ReturnType<typeof setTimeout> | undefined;

  // The source read in flight, if any, and where it lands: the buffer, or a
  // caller's buffer (readInto). A call that ends first leaves it in flight,
  // and the routine that started it still accounts for it when it lands: a
  // caller's bytes are then copied into the buffer, and a later call that
  // waits for them is woken (#landing).
  #inflight = false;
  #into: Uint8Array | undefined;
  /** The read in flight goes into a caller's buffer, not ours. */
  #foreign = false;
  /** ...and that caller's call still waits for it. */
  #direct = false;
  #landing: PromiseWithResolvers<void> | undefined;
  /** A source error that no call has received yet. */
  #failure: { error: unknown } | undefined;
  // read() settles its call from a callback, not a routine: one promise
  // hop fewer, as many as a plain read.
  #readCall = 0;
  #readMax = 0;

  /**
   * Reads through a buffer from `source`.
   *
   * @param source Where the bytes come from.
   * @param options A fixed buffer, and how to name the peer in messages.
   */
  constructor(source: ByteSource, options: BufferedReaderOptions = {}) {
    this.#source = source;
    this.#peer = options.peer;
    this.#fixed = options.buffer !== undefined;
    this.#buf = options.buffer ?? new Uint8Array(0);
  }

  /** Bytes received from the source so far, including those still buffered. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes read from the source and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Ends every wait for the source, now and later, with `reason`: calls
   * still return what is buffered, and reject with `reason` where they would
   * wait for more, unless they are not interruptible. Bytes the source
   * already holds count as arrived: a wait gets a few milliseconds for them
   * (a read of a socket with data queued completes within them) before it
   * ends.
   */
  stop(reason: unknown): void {
    this.#stopped ??= { reason };
    if (this.#waiting && !this.#shielded) this.#stopSoon();
  }

  /**
   * Ends the stream: once the buffered bytes are consumed, calls see the
   * end. A read in flight ends as the end of the stream when the source
   * fails it, as closing a `Deno.Conn` makes its pending read do; what it
   * brings is dropped.
   */
  close(): void {
    this.#closed = true;
    this.#eof = true;
  }

  /**
   * Reads what is buffered, or else waits for one read from the source.
   *
   * @returns At most `max` bytes, or `null` at the end of the stream.
   */
  read(max = Infinity, options?: WaitOptions): Promise<Uint8Array | null> {
    let call: number;
    try {
      call = this.#begin(options);
    } catch (error) {
      return Promise.reject(error);
    }
    let reading: Promise<number | null> | undefined;
    try {
      if (this.#end > this.#start) {
        const bytes = this.#take(Math.min(this.#end - this.#start, max));
        this.#endCall();
        return Promise.resolve(bytes);
      }
      reading = this.sourceRead(call);
    } catch (error) {
      this.#endCall();
      return Promise.reject(error);
    }
    if (reading === undefined) {
      return this.#settle(call, this.#readAfterFill(call, max));
    }
    this.#readCall = call;
    this.#readMax = max;
    const promise = new Promise(this.#park) as Promise<Uint8Array | null>;
    reading.then(this.#readLanded, this.#readFailed);
    return promise;
  }

  #park = (
    resolve: (value: unknown) => void,
    reject: (reason: unknown) => void,
  ): void => {
    this.#resolve = resolve;
    this.#reject = reject;
  };

  #readLanded = (n: number | null): void => {
    let more: boolean;
    try {
      more = this.landed(this.#readCall, n);
    } catch {
      return; // The call is over; the bytes are kept.
    }
    this.#readDone(more);
  };

  #readFailed = (error: unknown): void => {
    let more: boolean;
    try {
      more = this.failed(this.#readCall, error);
    } catch (failure) {
      if (failure !== ENDED) this.#rejectCall(failure);
      return;
    }
    this.#readDone(more);
  };

  #readDone(more: boolean): void {
    const resolve = this.#resolve!;
    const bytes = more
      ? this.#take(Math.min(this.#end - this.#start, this.#readMax))
      : null;
    this.#endCall();
    resolve(bytes);
  }

  async #readAfterFill(call: number, max: number): Promise<Uint8Array | null> {
    if (!await this.fill(call)) return null;
    return this.#take(Math.min(this.#end - this.#start, max));
  }

  /**
   * Reads into `p`: buffered bytes first, otherwise one read from the source,
   * straight into `p` unless this call may end before that read lands.
   *
   * @returns How many bytes were put at the start of `p`, or `null` at the
   * end of the stream.
   */
  readInto(p: Uint8Array, options?: WaitOptions): Promise<number | null> {
    return this.run(options, async (call) => {
      if (this.#end === this.#start) {
        // A read this call may give up on must land in our own buffer: the
        // caller may reuse `p` as soon as the call has failed.
        const direct = !this.#fixed && this.#armed === undefined &&
          (this.#stopped === undefined || this.#shielded);
        const reading = direct ? this.sourceRead(call, 0, p) : undefined;
        if (reading !== undefined) {
          let n: number | null;
          try {
            n = await reading;
          } catch (error) {
            this.failed(call, error);
            return null;
          }
          return this.landed(call, n) ? n : null;
        }
        if (!await this.fill(call)) return null;
      }
      const n = Math.min(this.#end - this.#start, p.length);
      p.set(this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      return n;
    });
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @throws {IncompleteReadError} If the stream ends first.
   */
  readExact(n: number, options?: WaitOptions): Promise<Uint8Array> {
    return this.run(options, async (call) => {
      while (this.#end - this.#start < n) {
        if (!await this.fill(call, n - (this.#end - this.#start))) {
          this.#throwIfClosed();
          const partial = this.#take(this.#end - this.#start);
          throw new IncompleteReadError(
            `${
              this.#context(`read ${n} bytes from`)
            }: the stream ended after ${partial.length} bytes`,
            partial,
            n,
          );
        }
      }
      return this.#take(n);
    });
  }

  /**
   * Reads up to and including `delimiter`, which must come within
   * `maxLength` bytes.
   *
   * @throws {LimitExceededError} If it does not.
   * @throws {IncompleteReadError} If the stream ends first.
   */
  readUntil(
    delimiter: Uint8Array,
    maxLength: number,
    options?: WaitOptions,
  ): Promise<Uint8Array> {
    return this.run(options, async (call) => {
      const end = await this.#scan(call, delimiter, maxLength);
      if (end === -1) {
        this.#throwIfClosed();
        const partial = this.#take(this.#end - this.#start);
        throw new IncompleteReadError(
          `${
            this.#context("read until the delimiter from")
          }: the stream ended after ${partial.length} bytes`,
          partial,
        );
      }
      return this.#take(end - this.#start);
    });
  }

  /**
   * Reads one line ended by `\n` or `\r\n`, decoded as UTF-8.
   *
   * @returns The line without its ending; at the end of the stream, the
   * unterminated rest if there is one, then `null`.
   * @throws {LimitExceededError} If the line is longer than `maxLength`.
   */
  readLine(maxLength: number, options?: WaitOptions): Promise<string | null> {
    return this.run(options, async (call) => {
      // One byte of slack leaves room for the \r of \r\n.
      const end = await this.#scan(call, LF, maxLength, 1);
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
      // Decoded, not handed out: the buffer can be reused in place.
      const line = decoder.decode(this.#buf.subarray(this.#start, stop));
      this.#start = end;
      return line;
    });
  }

  /**
   * Runs `routine` as a call: one at a time, with `options` armed, its
   * promise settled by the routine's result or, earlier, by what ends the
   * call. The routine is given the call's id for the calls it makes on the
   * reader (sourceRead, landed, failed, fill, drain), which throw once the
   * call has ended, so that an ended routine consumes nothing.
   *
   * @throws {Deno.errors.Busy} If another call is running.
   * @throws {RangeError} If the timeout is not a positive number.
   */
  run<T>(
    options: WaitOptions | undefined,
    routine: (call: number) => Promise<T>,
  ): Promise<T> {
    let call: number;
    try {
      call = this.#begin(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#settle(call, routine(call));
  }

  /** Settles call `call`'s promise with what `work` gives, if the call is still running then. */
  #settle<T>(call: number, work: Promise<T>): Promise<T> {
    const promise = new Promise(this.#park) as Promise<T>;
    work.then(
      (value) => {
        if (this.#call !== call) return;
        const resolve = this.#resolve!;
        this.#endCall();
        resolve(value);
      },
      (error) => {
        if (this.#call === call) this.#rejectCall(error);
      },
    );
    return promise;
  }

  /**
   * Takes every buffered byte. The view is valid until the next read from
   * the source: the caller must be done with it by then.
   */
  drain(call: number): Uint8Array {
    if (this.#call !== call) throw ENDED;
    const bytes = this.#buf.subarray(this.#start, this.#end);
    this.#start = this.#end;
    return bytes;
  }

  /**
   * The buffered bytes, not consumed: valid until the next read from the
   * source.
   */
  peek(call: number): Uint8Array {
    if (this.#call !== call) throw ENDED;
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Consumes `n` buffered bytes without handing them out. */
  skip(n: number): void {
    this.#start += Math.min(n, this.#end - this.#start);
  }

  /** Bytes consumed so far: read from the source and no longer buffered. */
  get consumed(): number {
    return this.#bytesRead - (this.#end - this.#start);
  }

  /**
   * Puts back the bytes the last call took, which nothing may have used:
   * for a stream whose consumer left while the read that served it was
   * settling.
   */
  unread(n: number): void {
    this.#start -= n;
  }

  /**
   * Waits for one read from the source (or for the one in flight) for call
   * `call`, sized to fit `wanted` more bytes.
   *
   * @returns Whether bytes arrived; `false` at the end of the stream.
   */
  async fill(call: number, wanted = 0): Promise<boolean> {
    const reading = this.sourceRead(call, wanted);
    if (reading !== undefined) {
      let n: number | null;
      try {
        n = await reading;
      } catch (error) {
        return this.failed(call, error);
      }
      return this.landed(call, n);
    }
    if (this.#failure !== undefined) {
      const { error } = this.#failure;
      this.#failure = undefined;
      throw error;
    }
    if (this.#eof) return false;
    // A read that an ended call started is in flight: wait for it to land.
    this.#waitFor();
    await (this.#landing ??= Promise.withResolvers<void>()).promise;
    if (this.#call !== call) throw ENDED;
    this.#waiting = false;
    if (this.#failure !== undefined) {
      const { error } = this.#failure;
      this.#failure = undefined;
      throw error;
    }
    return !this.#eof;
  }

  /**
   * Starts the source read that call `call` waits for next, and returns the
   * source's own promise: a hot loop awaits it directly and hands what it
   * gives to {@linkcode BufferedReader.landed} or
   * {@linkcode BufferedReader.failed}. Returns `undefined` when the call must
   * wait through {@linkcode BufferedReader.fill} instead: a read is in flight
   * already, the stream has ended, or an error waits to be received.
   *
   * @param into A caller's buffer to read straight into, instead of ours.
   * @throws The reason the call was cancelled with, if it was.
   */
  sourceRead(
    call: number,
    wanted = 0,
    into?: Uint8Array,
  ): Promise<number | null> | undefined {
    if (this.#call !== call) throw ENDED;
    if (this.#inflight || this.#eof || this.#failure !== undefined) {
      return undefined;
    }
    const target = into ?? this.#prepare(wanted);
    this.#inflight = true;
    this.#into = target;
    this.#foreign = this.#direct = into !== undefined;
    this.#waitFor();
    return this.#source.read(target);
  }

  /** Marks the running call as waiting for the source, unless it may not. */
  #waitFor(): void {
    if (this.#cancelled !== undefined) throw this.#cancelled.reason;
    this.#waiting = true;
    if (this.#stopped !== undefined && !this.#shielded) this.#stopSoon();
  }

  /**
   * Accounts for the source read that call `call` started.
   *
   * @returns Whether bytes arrived; `false` at the end of the stream.
   * @throws ENDED If the call has ended meanwhile: the bytes are kept.
   */
  landed(call: number, n: number | null): boolean {
    const into = this.#into!;
    this.#inflight = false;
    this.#into = undefined;
    if (this.#stopTimer !== undefined) this.#clearStopTimer();
    // Closed meanwhile: whatever it brought is dropped.
    if (this.#closed) n = null;
    if (n === null) {
      this.#eof = true;
    } else {
      this.#bytesRead += n;
      if (!this.#foreign) {
        // Nothing touches the buffer while a read is in flight: ours lands
        // at #end.
        this.#end += n;
        this.#adapt(n, into.length);
      } else if (!this.#direct) {
        // The call that read into its own buffer has ended: keep the bytes.
        this.#append(into.subarray(0, n));
      }
    }
    this.#landed();
    if (this.#call !== call) throw ENDED;
    this.#waiting = false;
    return n !== null;
  }

  /**
   * Accounts for the source read that call `call` started, which failed.
   *
   * @returns `false` when the reader was closed meanwhile: the read ended
   * as the end of the stream.
   * @throws The error, with the peer's name in its message; or ENDED if the
   * call has ended meanwhile, and the next call that waits receives it.
   */
  failed(call: number, error: unknown): false {
    this.#inflight = false;
    this.#into = undefined;
    if (this.#stopTimer !== undefined) this.#clearStopTimer();
    let failure: unknown;
    if (this.#closed) {
      this.#eof = true;
    } else {
      failure = describeError(error, this.#context("read from"));
      // A TLS peer that closed without close_notify: this call hears of it
      // (it may mean a truncation), and later ones see the end it was.
      if (error instanceof Deno.errors.UnexpectedEof) this.#eof = true;
    }
    if (this.#call !== call) {
      if (failure !== undefined) this.#failure = { error: failure };
      this.#landed();
      throw ENDED;
    }
    this.#landed();
    this.#waiting = false;
    if (failure !== undefined) throw failure;
    return false;
  }

  /** Wakes a call that waits for a read an ended call started. */
  #landed(): void {
    const landing = this.#landing;
    this.#landing = undefined;
    landing?.resolve();
  }

  #begin(options: WaitOptions | undefined): number {
    if (this.#call !== 0) {
      throw new Deno.errors.Busy(
        `${this.#context("read from")}: another read is pending`,
      );
    }
    if (options?.signal !== undefined || options?.timeout !== undefined) {
      this.#arm(options.signal, options.timeout);
    }
    this.#shielded = options?.interruptible === false;
    this.#call = ++this.#calls;
    return this.#call;
  }

  /** Ends the running call; its promise is settled by the caller. */
  #endCall(): void {
    this.#call = 0;
    this.#resolve = this.#reject = undefined;
    this.#waiting = false;
    this.#shielded = false;
    // A read the call started into its caller's buffer is now orphaned.
    this.#direct = false;
    this.#cancelled = undefined;
    if (this.#armed !== undefined) this.#disarm(this.#armed);
    if (this.#stopTimer !== undefined) this.#clearStopTimer();
  }

  #rejectCall(reason: unknown): void {
    const reject = this.#reject;
    this.#endCall();
    reject?.(reason);
  }

  /** Ends the running call shortly, if it still waits then. */
  #stopSoon(): void {
    this.#stopTimer ??= setTimeout(() => {
      this.#stopTimer = undefined;
      if (this.#waiting) this.#rejectCall(this.#stopped!.reason);
    }, STOP_GRACE);
  }

  #clearStopTimer(): void {
    clearTimeout(this.#stopTimer);
    this.#stopTimer = undefined;
  }

  #arm(signal: AbortSignal | undefined, timeout: number | undefined): void {
    if (
      timeout !== undefined && !(timeout > 0 && timeout <= 2 ** 31 - 1)
    ) {
      throw new RangeError(
        `Cannot read with timeout ${timeout}: it must be a positive number of milliseconds`,
      );
    }
    // Made per call, and only for calls that ask: an idle connection should
    // not carry these.
    const armed: Armed = { signal, timer: undefined, onAbort: undefined };
    this.#armed = armed;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#cancelled = { reason: signal.reason };
      } else {
        armed.onAbort = () => this.#rejectCall(signal.reason);
        signal.addEventListener("abort", armed.onAbort);
      }
    }
    if (timeout !== undefined) {
      armed.timer = setTimeout(() => {
        armed.timer = undefined;
        this.#rejectCall(
          new Deno.errors.TimedOut(
            `${this.#context("read from")}: timed out after ${timeout} ms`,
          ),
        );
      }, timeout);
    }
  }

  #disarm(armed: Armed): void {
    this.#armed = undefined;
    if (armed.onAbort !== undefined) {
      armed.signal!.removeEventListener("abort", armed.onAbort);
    }
    if (armed.timer !== undefined) clearTimeout(armed.timer);
  }

  #context(operation: string): string {
    return this.#peer === undefined
      ? `Cannot ${operation}`
      : `Cannot ${operation} "${formatPeer(this.#peer)}"`;
  }

  #throwIfClosed(): void {
    if (this.#closed) {
      throw new Deno.errors.BadResource(
        `${this.#context("read from")}: the connection is closed`,
      );
    }
  }

  #tooLong(maxLength: number): never {
    throw new LimitExceededError(
      `${this.#context("read from")}: no delimiter within ${maxLength} bytes`,
      maxLength,
    );
  }

  /** Returns `n` buffered bytes and consumes them. */
  #take(n: number): Uint8Array {
    const bytes = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    this.#shared = !this.#fixed;
    return bytes;
  }

  /**
   * Fills the buffer until `delim` is buffered or the limit is passed.
   *
   * @returns The offset just past the delimiter, or -1 at the end of stream.
   */
  async #scan(
    call: number,
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
      if (!await this.fill(call, scanned)) return -1;
      // The delimiter may straddle the old end; the buffer may have moved.
      from = this.#start + Math.max(0, scanned - delim.length + 1);
    }
  }

  /** Makes room in the buffer for a read; returns where the read goes. */
  #prepare(wanted: number): Uint8Array {
    const pending = this.#end - this.#start;
    if (pending === 0 && !this.#shared) this.#start = this.#end = 0;
    if (this.#fixed) {
      if (this.#start > 0) this.#compact();
      if (this.#end === this.#buf.length) {
        throw new RangeError(
          `${
            this.#context("read from")
          }: the ${this.#buf.length}-byte buffer is full`,
        );
      }
    } else {
      this.#grow(pending, wanted);
    }
    // A loop that refills the same empty buffer reads into the same place:
    // reuse the view rather than allocate one per read.
    if (
      this.#view?.buffer !== this.#buf.buffer ||
      this.#view.byteOffset !== this.#buf.byteOffset + this.#end
    ) {
      this.#view = this.#buf.subarray(this.#end);
    }
    return this.#view;
  }

  #compact(): void {
    this.#buf.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
  }

  /** Makes the adaptive buffer fit the next read. */
  #grow(pending: number, wanted: number): void {
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
      this.#compact();
      room = this.#buf.length - pending;
    }
    // A fresh buffer when there is too little room, or so much that an idle
    // connection would sit on a large one.
    if (room < need / 2 || room > 4 * need) this.#replace(pending + need);
  }

  #replace(size: number): void {
    const next = allocate(size);
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    // Nothing else sees a buffer no view was handed out of.
    if (!this.#shared) release(this.#buf);
    this.#buf = next;
    this.#shared = false;
  }

  /** Grows or shrinks the next read's size after one of `asked` brought `n`. */
  #adapt(n: number, asked: number): void {
    if (this.#fixed) return;
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
  }

  /** Copies bytes that landed elsewhere to the end of the buffer. */
  #append(bytes: Uint8Array): void {
    // Only an adaptive buffer gets here: readInto() never reads straight
    // into a caller's buffer when the buffer is fixed.
    if (this.#buf.length - this.#end < bytes.length) {
      this.#replace(this.#end - this.#start + bytes.length);
    }
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }
}

/**
 * Large read buffers that a reader gave up when its reads shrank, kept for
 * the next reader that grows (often the same one: bulk reads come back in
 * uneven sizes, and each swing between a large buffer and a small one cost
 * a fresh allocation of up to 4 MiB). Measured on the bulk echo benchmark:
 * 132 us of user CPU per MiB with a fresh allocation each time, 78 us with
 * buffers kept. Whole buffers only, of power-of-two sizes from 256 KiB to
 * MAX_READ_SIZE, and at most POOL_BYTES in all: idle connections hold small
 * buffers, and the pool holds what a few busy ones swing between.
 */
const pool = new Map<number, Uint8Array[]>();
const POOL_MIN = 256 * 1024;
const POOL_BYTES = 16 * 1024 * 1024;
let pooled = 0;

/** A buffer of at least `size` bytes: from the pool when large enough. */
function allocate(size: number): Uint8Array {
  if (size < POOL_MIN || size > MAX_READ_SIZE) return new Uint8Array(size);
  const rounded = 2 ** Math.ceil(Math.log2(size));
  const reused = pool.get(rounded)?.pop();
  if (reused === undefined) return new Uint8Array(rounded);
  pooled -= rounded;
  return reused;
}

/** Keeps `buffer` for a later allocate(), if it is one the pool takes. */
function release(buffer: Uint8Array): void {
  const size = buffer.length;
  if (
    size < POOL_MIN || size > MAX_READ_SIZE || (size & (size - 1)) !== 0 ||
    buffer.byteOffset !== 0 || buffer.buffer.byteLength !== size ||
    pooled + size > POOL_BYTES
  ) {
    return;
  }
  let list = pool.get(size);
  if (list === undefined) pool.set(size, list = []);
  list.push(buffer);
  pooled += size;
}

interface Armed {
  signal: AbortSignal | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Where `needle` starts in `haystack[from, to)`, or -1. Searched in a view of
 * that range: a typed array's own indexOf runs to the end of the array, and
 * past the buffered bytes a buffer (up to 16 MiB) holds only stale data, so
 * every wait for a line that had not arrived yet scanned all of it (a
 * chunked body over TLS, one chunk line per 64 KiB: 60x slower than curl).
 */
function indexOf(
  haystack: Uint8Array,
  needle: Uint8Array,
  from: number,
  to: number,
): number {
  const range = haystack.subarray(from, to);
  const first = needle[0]!;
  const last = range.length - needle.length;
  for (let i = range.indexOf(first); i !== -1 && i <= last;) {
    let j = 1;
    while (j < needle.length && range[i + j] === needle[j]) j++;
    if (j === needle.length) return from + i;
    i = range.indexOf(first, i + 1);
  }
  return -1;
}
