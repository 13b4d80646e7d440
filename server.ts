// Copyright 2026 the tcp authors. MIT license.
/**
 * {@linkcode TcpServer}: listen on a port, accept connections with
 * `for await`, or serve each with a handler of its own; connection limits,
 * idle timeouts and graceful shutdown included.
 *
 * ```ts
 * import { TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   for (let data; (data = await conn.read()) !== null;) await conn.write(data);
 * });
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * await client.write("ping");
 * assert.equal(new TextDecoder().decode(await client.readExact(4)), "ping");
 * client.close();
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @module
 */

import { TcpConnection } from "./connection.ts";
import { describeError, formatAddr, resolutionError } from "./_errors.ts";
import { IdleWatcher } from "./_idle_watcher.ts";
import { prepareRuntime } from "./_runtime.ts";

const MIN_BACKOFF = 5;
const MAX_BACKOFF = 1000;
const DEFAULT_SHUTDOWN_TIMEOUT = 10_000;
/**
 * How long handlers get to return once their connections are cut, before the
 * server stops waiting for them. A handler blocked in a read or a write of
 * its connection wakes at the cut and returns within a few event-loop turns;
 * one still running after this ignores its connection altogether, and
 * waiting longer would only let it hold up the shutdown.
 */
const CUT_GRACE = 50;

/**
 * Accept errors that only say a queued peer went away before it was accepted
 * (a load balancer's health check that connects and closes does this), and,
 * as accept(2) advises, network errors pending on the new socket: the next
 * accept is served at once. Nothing is wrong with the server.
 */
const PEER_ACCEPT_ERRORS = new Set([
  "ECONNABORTED",
  "ECONNRESET",
  "ENOTCONN",
  "EPROTO",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "ENONET",
  "ENOPROTOOPT",
  "EOPNOTSUPP",
]);

/** Options for {@linkcode TcpServer.listen}. */
export interface TcpServerOptions {
  /**
   * The address to listen on. `"0.0.0.0"` accepts connections from other
   * machines; `"127.0.0.1"` only from this one.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * The port to listen on; 0 picks a free one (read it from
   * {@linkcode TcpServer.addr}).
   *
   * @default {0}
   */
  port?: number;
  /** A PEM certificate chain; with `key`, the server speaks TLS. */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /**
   * The most connections open at once. At the limit the server stops
   * accepting, so new clients wait in the kernel's backlog, and resumes as
   * connections close.
   *
   * @default {Infinity}
   */
  maxConnections?: number;
  /**
   * Closes a connection that has neither read nor written anything for this
   * many milliseconds.
   *
   * @default {undefined} (never)
   */
  idleTimeout?: number;
  /**
   * Whether accepted connections send small writes at once (Nagle's
   * algorithm off). Request/reply protocols want `true`. The runtime offers
   * no way to set it on TLS connections, so TLS ignores it.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /** Aborting it shuts the server down gracefully, as {@linkcode TcpServer.shutdown} does. */
  signal?: AbortSignal;
  /**
   * Called when a handler throws or rejects (with its connection) and when
   * accepting fails (without one). The server goes on serving either way.
   * Errors that only mean the peer went away (reset, broken pipe) are not
   * reported: they are the network's doing, not the handler's.
   *
   * @default {A one-line message on stderr naming the peer}
   */
  onError?: (error: unknown, conn?: TcpConnection) => void;
}

/** Options for {@linkcode TcpServer.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long, in milliseconds, running connections may take to finish before
   * they are closed.
   *
   * @default {10000}
   */
  timeout?: number;
}

/** What {@linkcode TcpServer.shutdown} did. */
export interface ShutdownResult {
  /** Connections that finished on their own before the timeout. */
  drained: number;
  /** Connections that were still open at the timeout and were closed. */
  cut: number;
  /**
   * Handlers that had not returned 50 ms after the cut (they ignore their
   * connection, its signal and everything else). The server stops waiting
   * for them: they go on running in the background, and what they throw is
   * still reported through `onError`.
   */
  abandoned: number;
}

/** A function that serves one connection; see {@linkcode TcpServer.serve}. */
export type TcpHandler = (conn: TcpConnection) => unknown;

/**
 * A TCP (or TLS) server.
 *
 * Accept connections one by one with `for await (const conn of server)`, or
 * give {@linkcode TcpServer.serve} a handler that runs for each connection
 * concurrently. Either way the server counts open connections, enforces
 * `maxConnections` and `idleTimeout`, keeps accepting through errors such as
 * running out of file descriptors, and shuts down gracefully.
 *
 * @example An echo server
 * ```ts
 * import { TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   for (let data; (data = await conn.read()) !== null;) await conn.write(data);
 * });
 *
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * await client.write("hello\n");
 * assert.equal(await client.readLine(), "hello");
 * client.close();
 *
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @example An accept loop
 * ```ts
 * import { TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * for await (const conn of server) {
 *   await conn.write(`you are ${conn.remoteAddr.hostname}\n`);
 *   conn.close();
 *   break;
 * }
 * assert.equal(await client.readLine(), "you are 127.0.0.1");
 * ```
 */
export class TcpServer
  implements AsyncIterable<TcpConnection>, AsyncDisposable {
  #listener: Deno.Listener;
  #addr: Deno.NetAddr;
  #label: string;
  #maxConnections: number;
  #noDelay: boolean;
  #onError: (error: unknown, conn?: TcpConnection) => void;
  #idle: IdleWatcher | undefined;
  #signal: AbortSignal | undefined;
  #live = new Set<TcpConnection>();
  /** Connections the server closed itself, for shutdown's count. */
  #cut = new WeakSet<TcpConnection>();
  #handlers = 0;
  /** Handlers the server stopped waiting for, once it gave up on them. */
  #abandoned: number | undefined;
  #consumed = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #portFree = false;
  #pendingAccept: Promise<unknown> | undefined;
  #wake: (() => void) | undefined;
  #shutdown: Promise<ShutdownResult> | undefined;
  #finished: Promise<void>;
  #resolveFinished!: () => void;

  private constructor(listener: Deno.Listener, options: TcpServerOptions) {
    this.#listener = listener;
    this.#addr = listener.addr as Deno.NetAddr;
    this.#label = formatAddr(this.#addr);
    this.#maxConnections = options.maxConnections ?? Infinity;
    this.#noDelay = options.noDelay ?? true;
    this.#onError = options.onError ?? ((error, conn) => {
      const message = error instanceof Error ? error.message : String(error);
      console.error(
        conn
          ? `TcpServer: handler for "${
            formatAddr(conn.remoteAddr)
          }" failed: ${message}`
          : `TcpServer on "${this.#label}": ${message}`,
      );
    });
    if (options.idleTimeout !== undefined) {
      this.#idle = new IdleWatcher(
        options.idleTimeout,
        (conn) =>
          conn.close(
            new Deno.errors.TimedOut(
              `Connection from "${
                formatAddr(conn.remoteAddr)
              }" was idle for ${options.idleTimeout} ms`,
            ),
          ),
      );
    }
    this.#finished = new Promise((resolve) => this.#resolveFinished = resolve);
    const signal = options.signal;
    if (signal) {
      this.#signal = signal;
      signal.addEventListener("abort", this.#onAbort, { once: true });
      if (signal.aborted) this.#onAbort();
    }
  }

  /**
   * Binds a listening socket at once and returns the server. Nothing is
   * accepted until the server is iterated or served.
   *
   * @param options Where to listen and how to behave.
   * @returns The listening server.
   * @throws {RangeError} If `port`, `maxConnections` or `idleTimeout` is out of range.
   * @throws {TypeError} If only one of `cert` and `key` is given.
   * @throws {Deno.errors.AddrInUse} If the address is taken; the message names it.
   * @throws {NameResolutionError} If `hostname` does not resolve.
   *
   * @example Listening on a free port
   * ```ts
   * import { TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * assert.ok(server.addr.port > 0);
   * ```
   */
  static listen(options: TcpServerOptions = {}): TcpServer {
    const hostname = options.hostname ?? "0.0.0.0";
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(
        `Cannot listen on port ${port}: the port must be an integer from 0 to 65535`,
      );
    }
    const { maxConnections, idleTimeout, cert, key } = options;
    if (
      maxConnections !== undefined &&
      !(maxConnections === Infinity ||
        (Number.isInteger(maxConnections) && maxConnections > 0))
    ) {
      throw new RangeError(
        `Cannot listen with maxConnections ${maxConnections}: it must be a positive integer`,
      );
    }
    if (
      idleTimeout !== undefined &&
      !(Number.isFinite(idleTimeout) && idleTimeout > 0)
    ) {
      throw new RangeError(
        `Cannot listen with idleTimeout ${idleTimeout}: it must be a positive number of milliseconds`,
      );
    }
    if ((cert === undefined) !== (key === undefined)) {
      throw new TypeError(
        "Cannot listen with TLS: both cert and key are needed",
      );
    }
    const where = formatAddr({ hostname, port });
    prepareRuntime();
    let listener: Deno.Listener;
    try {
      listener = cert !== undefined && key !== undefined
        ? Deno.listenTls({ hostname, port, cert, key, transport: "tcp" })
        : Deno.listen({ hostname, port, transport: "tcp" });
    } catch (error) {
      const context = `Cannot listen on "${where}"`;
      const resolution = resolutionError(error, hostname, context);
      throw resolution === error ? describeError(error, context) : resolution;
    }
    return new TcpServer(listener, options);
  }

  /** The address the server is bound to, with the real port when 0 was asked. */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  /**
   * How many connections are open now. With {@linkcode TcpServer.serve}, a
   * connection counts until its handler returns.
   */
  get connections(): number {
    return this.#live.size;
  }

  /**
   * Resolves once the server has stopped: the listener is closed, every
   * connection is closed and every handler has returned (or, after a cut,
   * has been abandoned: see {@linkcode ShutdownResult.abandoned}).
   */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /**
   * Accepts connections until the server stops. Only one loop (or one
   * {@linkcode TcpServer.serve}) may consume a server. The caller closes each
   * connection; leaving the loop early does not stop the server.
   *
   * @returns An iterator of accepted connections.
   * @throws {TypeError} If the server is already being iterated or served.
   *
   * @example Greeting each client in turn
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * for await (const conn of server) {
   *   await conn.write("Welcome!\n");
   *   conn.close();
   *   break;
   * }
   * assert.equal(await client.readLine(), "Welcome!");
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<TcpConnection, void, void> {
    this.#claim();
    try {
      for (let conn; (conn = await this.#accept()) !== null;) {
        // The caller owns it: it counts until closed, whoever closes it.
        conn.closed.then(() => this.#forget(conn));
        yield conn;
      }
    } finally {
      this.#consumed = false;
    }
  }

  /**
   * Serves every connection with `handler`, each concurrently. The handler's
   * connection is closed when it returns. A handler that throws or rejects is
   * reported through `onError`, its connection is closed, and the server goes
   * on.
   *
   * @param handler Serves one connection.
   * @returns A promise that resolves once the server has stopped, as
   * {@linkcode TcpServer.finished} does.
   * @throws {TypeError} If the server is already being iterated or served.
   *
   * @example A greeting server
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   await conn.write("Welcome!\n");
   *   for await (const line of conn.lines()) {
   *     if (line === "exit") break;
   *     await conn.write(`Hello, ${line}!\n`);
   *   }
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * assert.equal(await client.readLine(), "Welcome!");
   * await client.write("Ada\nexit\n");
   * assert.equal(await client.readLine(), "Hello, Ada!");
   * assert.equal(await client.readLine(), null);
   * await server.shutdown();
   * await serving;
   * ```
   */
  async serve(handler: TcpHandler): Promise<void> {
    this.#claim();
    try {
      for (let conn; (conn = await this.#accept()) !== null;) {
        this.#handle(conn, handler);
      }
    } finally {
      this.#consumed = false;
    }
    await this.#finished;
  }

  /**
   * Stops the server gracefully: stops accepting at once (the port is free
   * again), aborts each open connection's {@linkcode TcpConnection.signal} so
   * handlers know to finish, waits up to `timeout` for them, then closes
   * whatever is still open. Calling it again returns the same result.
   *
   * @param options How long to wait.
   * @returns How many connections finished and how many were cut, once the
   * server has stopped.
   *
   * @example Letting a slow reply finish
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   await conn.readLine();
   *   await new Promise((resolve) => setTimeout(resolve, 50));
   *   await conn.write("done\n");
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write("go\n");
   * while (server.connections === 0) await new Promise((r) => setTimeout(r, 1));
   * const result = await server.shutdown({ timeout: 5000 });
   * assert.deepEqual(result, { drained: 1, cut: 0, abandoned: 0 });
   * assert.equal(await client.readLine(), "done");
   * await serving;
   * ```
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    const timeout = options.timeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
    if (!(timeout >= 0)) {
      throw new RangeError(
        `Cannot shut down with timeout ${timeout}: it must be a non-negative number of milliseconds`,
      );
    }
    this.#shutdown ??= this.#drain(timeout);
    return this.#shutdown;
  }

  /**
   * Closes the listener and every connection now, then gives handlers 50 ms
   * to return before it stops waiting for them (see
   * {@linkcode ShutdownResult.abandoned}).
   *
   * @returns A promise that resolves once the server has stopped.
   *
   * @example Stopping at once
   * ```ts
   * import { TcpServer } from "@netkit/tcp";
   *
   * const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(() => {});
   * await server.close();
   * await serving;
   * ```
   */
  async close(): Promise<void> {
    await this.#stop();
    this.#cutAll(
      new Deno.errors.Interrupted(`Server on "${this.#label}" closed`),
    );
    await this.#settle();
  }

  /**
   * Shuts the server down gracefully, as {@linkcode TcpServer.shutdown} does
   * with its default timeout.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #claim(): void {
    if (this.#consumed) {
      throw new TypeError(
        `Cannot accept on "${this.#label}": the server is already being iterated or served`,
      );
    }
    this.#consumed = true;
  }

  /** Returns the next connection, or `null` once the server stops. */
  async #accept(): Promise<TcpConnection | null> {
    let backoff = 0;
    while (!this.#stopping) {
      if (this.#live.size >= this.#maxConnections) {
        // Not accepting leaves new clients queued in the kernel's backlog.
        await this.#pause();
        continue;
      }
      let raw: Deno.Conn;
      const accepting = this.#listener.accept();
      this.#pendingAccept = accepting.catch(() => {});
      try {
        raw = await accepting;
      } catch (error) {
        if (this.#stopping) break;
        if (isPeerAcceptError(error)) continue;
        // Out of file descriptors and the like: the loop must survive, so wait
        // a little longer each time and try again.
        backoff = Math.min(Math.max(backoff * 2, MIN_BACKOFF), MAX_BACKOFF);
        this.#report(
          describeError(
            error,
            `Cannot accept on "${this.#label}", retrying in ${backoff} ms`,
          ),
        );
        await this.#pause(backoff);
        continue;
      }
      if (this.#stopping) {
        raw.close();
        break;
      }
      return this.#adopt(raw);
    }
    return null;
  }

  #adopt(raw: Deno.Conn): TcpConnection {
    const conn = new TcpConnection(raw);
    try {
      if (this.#noDelay) conn.setNoDelay(true);
    } catch {
      // Some systems refuse options on a socket the peer already reset; the
      // connection's first read will say so.
    }
    this.#live.add(conn);
    this.#idle?.add(conn);
    return conn;
  }

  /** Stops counting a connection that is closed, or whose handler returned. */
  #forget(conn: TcpConnection): void {
    if (!this.#live.delete(conn)) return;
    this.#idle?.delete(conn);
    this.#wakeUp();
    this.#checkFinished();
  }

  async #handle(conn: TcpConnection, handler: TcpHandler): Promise<void> {
    this.#handlers++;
    try {
      await handler(conn);
    } catch (error) {
      // The server's own interrupt or cut ends the handler's reads and
      // writes, and a peer that vanishes makes them fail too: neither is a
      // fault of the handler, and a busy server would log them by the
      // thousand.
      const ended = conn.signal.aborted &&
        (error === conn.signal.reason ||
          error instanceof Deno.errors.BadResource);
      if (!ended && !isDisconnect(error)) this.#report(error, conn);
    } finally {
      // A served connection counts until its handler returns: a handler
      // still running holds a slot of maxConnections, and watching each
      // connection's close as well would cost every idle connection ~1 KiB.
      conn.close();
      this.#handlers--;
      this.#forget(conn);
      this.#checkFinished();
    }
  }

  #report(error: unknown, conn?: TcpConnection): void {
    try {
      this.#onError(error, conn);
    } catch (callbackError) {
      console.error(
        `TcpServer on "${this.#label}": onError threw: ${callbackError}`,
      );
    }
  }

  /** Waits until woken (a connection closed, or the server stopped) or `ms` pass. */
  #pause(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Stops accepting; resolves once the port is free again. */
  #stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#stopping = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    this.#wakeUp();
    // The port is released only once a pending accept has settled.
    this.#stopped = (this.#pendingAccept ?? Promise.resolve()).then(() => {
      this.#portFree = true;
      this.#checkFinished();
    });
    return this.#stopped;
  }

  async #drain(timeout: number): Promise<ShutdownResult> {
    await this.#stop();
    const open = new Set(this.#live);
    const reason = new Deno.errors.Interrupted(
      `Server on "${this.#label}" is shutting down`,
    );
    for (const conn of open) conn.interrupt(reason);
    if (!await within(this.#finished, timeout)) {
      this.#cutAll(reason);
      await this.#settle();
    }
    let cut = 0;
    for (const conn of open) if (this.#cut.has(conn)) cut++;
    return { drained: open.size - cut, cut, abandoned: this.#abandoned ?? 0 };
  }

  /** Closes every open connection, counting it as cut. */
  #cutAll(reason: unknown): void {
    for (const conn of this.#live) {
      this.#cut.add(conn);
      conn.close(reason);
    }
  }

  /**
   * After a cut: waits a little for handlers to return, then stops waiting
   * for those that have not.
   */
  async #settle(): Promise<void> {
    if (!await within(this.#finished, CUT_GRACE)) {
      this.#abandoned ??= this.#handlers;
      // Their connections were all cut: none is open any more.
      for (const conn of this.#live) this.#forget(conn);
      this.#checkFinished();
    }
    await this.#finished;
  }

  #checkFinished(): void {
    if (
      this.#portFree && this.#live.size === 0 &&
      (this.#handlers === 0 || this.#abandoned !== undefined)
    ) {
      this.#resolveFinished();
    }
  }

  #onAbort = (): void => {
    this.shutdown().catch(() => {});
  };
}

/** Whether `promise` settles within `ms` milliseconds. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function isPeerAcceptError(error: unknown): boolean {
  if (
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted
  ) {
    return true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && PEER_ACCEPT_ERRORS.has(code);
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof;
}
