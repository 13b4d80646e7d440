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
import {
  describeError,
  formatAddr,
  NameResolutionError,
  resolutionError,
} from "./_errors.ts";
import { IdleWatcher } from "./_idle_watcher.ts";
import { prepareRuntime } from "./_runtime.ts";

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

/** Options for {@linkcode TcpClient.connect}. */
export interface TcpClientOptions {
  /**
   * The host to connect to: a name or an IP address.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The port to connect to, from 1 to 65535. */
  port: number;
  /**
   * How long connecting (including the TLS handshake) may take, in
   * milliseconds, before it fails with {@linkcode Deno.errors.TimedOut}.
   *
   * @default {undefined} (as long as the system allows)
   */
  timeout?: number;
  /** Aborting it cancels connecting; the promise rejects with its reason. */
  signal?: AbortSignal;
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
}

/**
 * A connection made by {@linkcode TcpClient.connect}. It is a
 * {@linkcode TcpConnection}, with all of its reads and writes.
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
export class TcpClient extends TcpConnection {
  /**
   * Connects to a server.
   *
   * @param options Where to connect and how.
   * @returns The connected client.
   * @throws {RangeError} If `port` or `timeout` is out of range.
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
  static async connect(options: TcpClientOptions): Promise<TcpClient> {
    const { port, timeout, signal, idleTimeout } = options;
    const hostname = options.hostname ?? "127.0.0.1";
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
    signal?.throwIfAborted();
    prepareRuntime();
    const where = formatAddr({ hostname, port });
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
      conn = await Deno.connect({
        hostname,
        port,
        transport: "tcp",
        signal: controller.signal,
      });
      if (isSelfConnection(conn)) {
        throw new Deno.errors.ConnectionRefused(
          "Connection refused (the socket connected to itself, so nothing listens there)",
        );
      }
      // Socket options outlive startTls, and a TLS connection has no setters.
      const tcp = conn as Deno.TcpConn;
      tcp.setNoDelay(options.noDelay ?? true);
      if (options.keepAlive) tcp.setKeepAlive(true);
      if (options.tls) {
        const tls = options.tls === true ? {} : options.tls;
        const tlsConn = await Deno.startTls(conn as Deno.TcpConn, {
          hostname: tls.serverName ?? hostname,
          caCerts: tls.caCerts,
          alpnProtocols: tls.alpnProtocols,
        });
        conn = tlsConn;
        // connectTls and handshake() take no signal: closing the socket is
        // what cancels a handshake that hangs.
        const cancel = () => tlsConn.close();
        controller.signal.throwIfAborted();
        controller.signal.addEventListener("abort", cancel, { once: true });
        try {
          await tlsConn.handshake();
        } finally {
          controller.signal.removeEventListener("abort", cancel);
        }
      }
      const client = new TcpClient(conn);
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
      const resolution = resolutionError(error, hostname, context);
      throw resolution === error ? describeError(error, context) : resolution;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

function isSelfConnection(conn: Deno.Conn): boolean {
  const local = conn.localAddr as Deno.NetAddr;
  const remote = conn.remoteAddr as Deno.NetAddr;
  return local.port === remote.port && local.hostname === remote.hostname;
}

/** Closes `client` once it makes no progress for `timeout` ms. */
function watchIdle(client: TcpClient, timeout: number, where: string): void {
  const watcher = new IdleWatcher(timeout, (conn) =>
    conn.close(
      new Deno.errors.TimedOut(
        `Connection to "${where}" was idle for ${timeout} ms`,
      ),
    ));
  watcher.add(client);
  client.closed.then(() => watcher.delete(client));
}
