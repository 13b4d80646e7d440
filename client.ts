// Copyright 2026 the tcp authors. MIT license.
/**
 * {@linkcode TcpClient}: connect to a TCP (or TLS) server with a timeout and
 * cancellation, and get a {@linkcode TcpConnection} back.
 *
 * ```ts
 * import { TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve((conn) => conn.write("Welcome!\n"));
 * await using client = await TcpClient.connect({
 *   hostname: "127.0.0.1",
 *   port: server.addr.port,
 *   timeout: 5000,
 * });
 * assert.equal(await client.readLine(), "Welcome!");
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @module
 */

import { TcpConnection } from "./connection.ts";
import { Deadlines } from "./_deadlines.ts";
import {
  describeError,
  formatAddr,
  NameResolutionError,
  resolutionError,
} from "./_errors.ts";
import { prepareRuntime } from "./_runtime.ts";
import { encodeProxyHeader, type ProxyHeader } from "./proxy_protocol.ts";

export { NameResolutionError };

/** TLS settings for {@linkcode TcpClientOptions.tls}. */
export interface TlsOptions {
  /**
   * PEM certificates to trust in addition to the system's, such as a
   * self-signed certificate for tests.
   */
  caCerts?: string[];
  /**
   * The name the server's certificate must carry.
   *
   * @default {The `hostname` connected to}
   */
  serverName?: string;
  /** ALPN protocols to offer, in order of preference. */
  alpnProtocols?: string[];
}

/** Options for every client connection, over TCP or a Unix socket. */
export interface ClientOptions {
  /**
   * How long connecting (including the TLS handshake) may take, in
   * milliseconds, before it fails with {@linkcode Deno.errors.TimedOut}.
   *
   * @default {undefined} (as long as the system allows)
   */
  timeout?: number;
  /** Aborting it cancels connecting; the promise rejects with its reason. */
  signal?: AbortSignal;
  /**
   * Closes the connection once it has neither read nor written anything for
   * this many milliseconds, as the server's option of the same name does:
   * reads then return `null`, and {@linkcode TcpConnection.signal}'s reason
   * is a {@linkcode Deno.errors.TimedOut}. To fail one read that waits too
   * long instead, give the read a `timeout`.
   *
   * @default {undefined} (never)
   */
  idleTimeout?: number;
  /**
   * A PROXY protocol header (v1 or v2) to send first, as a load balancer
   * does: a proxy written with {@linkcode TcpConnection.copyTo} passes its
   * client on to the server behind it, and tests can play the balancer. It
   * goes before the TLS handshake, as HAProxy sends it.
   *
   * @default {undefined} (none)
   */
  proxyHeader?: ProxyHeader;
}

/** Options for {@linkcode TcpClient.connect} to a TCP port. */
export interface TcpClientOptions extends ClientOptions {
  /**
   * The host to connect to: a name or an IP address.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The port to connect to, from 1 to 65535. */
  port: number;
  /** `true`, or TLS settings, to speak TLS. */
  tls?: boolean | TlsOptions;
  /**
   * Whether small writes go out at once (Nagle's algorithm off). Ignored with
   * TLS.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * Whether to send TCP keep-alive probes. Ignored with TLS.
   *
   * @default {false}
   */
  keepAlive?: boolean;
}

/** Options for {@linkcode TcpClient.connect} to a Unix domain socket. */
export interface UnixClientOptions extends ClientOptions {
  /** The socket file's path, or a Linux abstract name starting with `"\0"`. */
  path: string;
}

/**
 * A connection made by {@linkcode TcpClient.connect}. It is a
 * {@linkcode TcpConnection}, with all of its reads and writes.
 *
 * @typeParam A The address type: TCP, or a Unix socket's.
 *
 * @example The tutorial's client
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
 * await client.write("Hello, world");
 * const reply = await client.read(1024);
 * assert.equal(new TextDecoder().decode(reply ?? undefined), "Hello, world");
 * client.close();
 * await server.shutdown();
 * await serving;
 * ```
 */
export class TcpClient<A extends Deno.NetAddr | Deno.UnixAddr = Deno.NetAddr>
  extends TcpConnection<A> {
  /**
   * Connects to a server over TCP, or TLS over TCP.
   *
   * @param options Where to connect and how.
   * @returns The connected client.
   * @throws {RangeError} If `port`, `timeout` or `idleTimeout` is out of range.
   * @throws {Deno.errors.ConnectionRefused} If nothing listens there; the
   * message names `host:port`.
   * @throws {Deno.errors.TimedOut} If `timeout` passes first.
   * @throws {Deno.errors.ConnectionRefused} If the connection would be to
   * itself: a connect to a free port on this machine can be answered by its
   * own socket (TCP simultaneous open), which would read back its own bytes.
   * @throws {NameResolutionError} If the host name does not resolve.
   *
   * @example Failing clearly
   * ```ts
   * import { TcpClient } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const { port } = listener.addr;
   * listener.close();
   * await assert.rejects(
   *   TcpClient.connect({ port }),
   *   (error: Error) => error.message.includes(`"127.0.0.1:${port}"`),
   * );
   * ```
   */
  static connect(options: TcpClientOptions): Promise<TcpClient<Deno.NetAddr>>;
  /**
   * Connects to a server on a Unix domain socket.
   *
   * @param options The socket's path, and how to connect.
   * @returns The connected client.
   * @throws {TypeError} If `path` is empty.
   * @throws {Deno.errors.NotFound} If there is no socket file there.
   * @throws {Deno.errors.ConnectionRefused} If nothing listens on it.
   *
   * @example Talking to a local server
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * const path = `${await Deno.makeTempDir()}/hello.sock`;
   * await using server = TcpServer.listen({ path });
   * const serving = server.serve((conn) => conn.write("hello\n"));
   * await using client = await TcpClient.connect({ path });
   * assert.equal(await client.readLine(), "hello");
   * await server.shutdown();
   * await serving;
   * ```
   */
  static connect(
    options: UnixClientOptions,
  ): Promise<TcpClient<Deno.UnixAddr>>;
  static async connect(
    options: TcpClientOptions | UnixClientOptions,
    // deno-lint-ignore no-explicit-any
  ): Promise<any> {
    const { timeout, signal, idleTimeout, proxyHeader } = options;
    const target = checkTarget(options);
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
      throw new RangeError(
        `Cannot connect with timeout ${timeout}: it must be a positive number of milliseconds`,
      );
    }
    if (
      idleTimeout !== undefined &&
      !(Number.isFinite(idleTimeout) && idleTimeout > 0)
    ) {
      throw new RangeError(
        `Cannot connect with idleTimeout ${idleTimeout}: it must be a positive number of milliseconds`,
      );
    }
    // Bad header fields are the caller's mistake: refused before connecting.
    const header = proxyHeader && encodeProxyHeader(proxyHeader);
    signal?.throwIfAborted();
    prepareRuntime();
    const where = formatAddr(target);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = timeout === undefined ? undefined : setTimeout(() => {
      controller.abort(
        new Deno.errors.TimedOut(
          `Cannot connect to "${where}": timed out after ${timeout} ms`,
        ),
      );
    }, timeout);
    let conn: Deno.Conn | undefined;
    try {
      conn = target.transport === "tcp"
        ? await Deno.connect({ ...target, signal: controller.signal })
        : await connectUnix(target.path, controller.signal);
      if (target.transport === "tcp" && isSelfConnection(conn)) {
        throw new Deno.errors.ConnectionRefused(
          "Connection refused (the socket connected to itself, so nothing listens there)",
        );
      }
      if (header !== undefined) await writeAll(conn, header);
      if (target.transport === "tcp") {
        conn = await secure(
          conn as Deno.TcpConn,
          options as TcpClientOptions,
          controller.signal,
        );
      }
      const client = new TcpClient(conn as Deno.Conn<Deno.NetAddr>);
      if (idleTimeout !== undefined) watchIdle(client, idleTimeout, where);
      return client;
    } catch (error) {
      if (conn) {
        try {
          conn.close();
        } catch {
          // Closed by the cancellation already.
        }
      }
      if (controller.signal.aborted) throw controller.signal.reason;
      const context = `Cannot connect to "${where}"`;
      const resolution = target.transport === "tcp"
        ? resolutionError(error, target.hostname, context)
        : error;
      throw resolution === error ? describeError(error, context) : resolution;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** Where a client connects. */
type Target =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "unix"; path: string };

/** Checks where to connect. */
function checkTarget(options: TcpClientOptions | UnixClientOptions): Target {
  if ("path" in options && options.path !== undefined) {
    const { path } = options;
    if (typeof path !== "string" || path === "") {
      throw new TypeError("Cannot connect: path must be a non-empty string");
    }
    return { transport: "unix", path };
  }
  const { port } = options as TcpClientOptions;
  const hostname = (options as TcpClientOptions).hostname ?? "127.0.0.1";
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(
      `Cannot connect: hostname must be a non-empty string, received ${
        JSON.stringify(hostname)
      }`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot connect to port ${port}: the port must be an integer from 1 to 65535`,
    );
  }
  return { transport: "tcp", hostname, port };
}

/** Sets the socket options, and speaks TLS over `conn` if asked to. */
async function secure(
  conn: Deno.TcpConn,
  options: TcpClientOptions,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  // Socket options outlive startTls, and a TLS connection has no setters.
  conn.setNoDelay(options.noDelay ?? true);
  if (options.keepAlive) conn.setKeepAlive(true);
  if (!options.tls) return conn;
  const tls = options.tls === true ? {} : options.tls;
  const tlsConn = await Deno.startTls(conn, {
    hostname: tls.serverName ?? options.hostname ?? "127.0.0.1",
    caCerts: tls.caCerts,
    alpnProtocols: tls.alpnProtocols,
  });
  // connectTls and handshake() take no signal: closing the socket is what
  // cancels a handshake that hangs.
  const cancel = () => tlsConn.close();
  signal.throwIfAborted();
  signal.addEventListener("abort", cancel, { once: true });
  try {
    await tlsConn.handshake();
  } catch (error) {
    tlsConn.close();
    throw error;
  } finally {
    signal.removeEventListener("abort", cancel);
  }
  return tlsConn;
}

/**
 * Connects to a Unix socket. The runtime takes no signal for it: an abort
 * ends the wait, and the connection, if it comes, is closed.
 */
function connectUnix(path: string, signal: AbortSignal): Promise<Deno.Conn> {
  const connecting = Deno.connect({ transport: "unix", path });
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      connecting.then((conn) => conn.close(), () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    connecting.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

function isSelfConnection(conn: Deno.Conn): boolean {
  const local = conn.localAddr as Deno.NetAddr;
  const remote = conn.remoteAddr as Deno.NetAddr;
  return local.port === remote.port && local.hostname === remote.hostname;
}

/** Closes `client` once it makes no progress for `timeout` ms. */
function watchIdle(
  client: TcpConnection<Deno.NetAddr>,
  timeout: number,
  where: string,
): void {
  const watched = new Set([client]);
  const deadlines = new Deadlines<TcpConnection<Deno.NetAddr>>(watched, {
    idleTimeout: timeout,
    onIdle: (conn) =>
      conn.close(
        new Deno.errors.TimedOut(
          `Connection to "${where}" was idle for ${timeout} ms`,
        ),
      ),
  });
  deadlines.add(client);
  client.closed.then(() => {
    watched.delete(client);
    deadlines.delete(client);
  });
}
