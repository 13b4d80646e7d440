// Copyright 2026 the tcp authors. MIT license.
/**
 * {@linkcode TcpServer}: listen on a port or a Unix socket, accept
 * connections with `for await` or `accept()`, or serve each with a handler
 * of its own; connection limits, idle timeouts, maximum ages, the PROXY
 * protocol behind load balancers, and graceful shutdown included.
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
import { Admission } from "./_admission.ts";
import { IncompleteReadError } from "./_buffered_reader.ts";
import { CidrSet } from "./_cidr.ts";
import { Deadlines } from "./_deadlines.ts";
import { describeError, formatAddr, resolutionError } from "./_errors.ts";
import { prepareRuntime } from "./_runtime.ts";
import { exportMetrics } from "./_telemetry.ts";

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
 * How long a trusted peer has to send its PROXY header. HAProxy and nginx
 * send it with the connection; a peer that has sent nothing after this long
 * is not a balancer at work, and holds a descriptor for nothing.
 */
const DEFAULT_PROXY_TIMEOUT = 5000;
/**
 * How long a write may make no progress (the peer reads nothing) before the
 * connection is closed: as long as nginx's `send_timeout`. A client that
 * stops reading for a minute while the server has more to send is stuck or
 * hostile; a tutorial client never comes near it.
 */
const DEFAULT_WRITE_TIMEOUT = 60_000;
/**
 * How long a TLS client has to complete its handshake: as long as Go's
 * `http.Transport` gives a server. Real handshakes take milliseconds.
 */
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** How many clients stats() lists, by open connections. */
const TOP_CLIENTS = 10;

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

/** How a server receives the PROXY protocol; see {@linkcode ServerOptions.proxyProtocol}. */
export interface ProxyProtocolOptions {
  /**
   * The load balancers allowed to send a header, as IPv4 and IPv6 networks
   * and addresses (`"10.0.0.0/8"`, `"fd00::/8"`, `"127.0.0.1"`). Required on
   * a TCP server: whoever may send the header chooses the address the
   * server sees. A Unix socket server takes no list: only processes that may
   * open the socket file reach it, and they are all trusted.
   */
  trusted?: string[];
  /**
   * How long, in milliseconds, a trusted peer has to send its whole header.
   *
   * @default {5000}
   */
  timeout?: number;
  /**
   * The largest v2 header accepted, in bytes.
   *
   * @default {4096}
   */
  maxLength?: number;
}

/**
 * Options that every server takes, TCP or Unix socket.
 *
 * @typeParam A The connections' address type.
 */
export interface ServerOptions<A extends Deno.NetAddr | Deno.UnixAddr> {
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
   * Asks each connection to end once it is this many milliseconds old (give
   * or take 10%, drawn per connection so that connections opened together do
   * not end together): {@linkcode TcpConnection.interrupt} with a
   * {@linkcode MaxConnectionAgeError}, so the handler can finish its
   * exchange, and its client reconnects to whichever server its load
   * balancer picks now. Long-lived connections otherwise never move to the
   * servers added after a scale-up.
   *
   * @default {undefined} (never)
   */
  maxConnectionAge?: number;
  /**
   * Receive the PROXY protocol (v1 and v2) from trusted load balancers
   * (HAProxy `send-proxy-v2`, nginx `proxy_protocol on`): each connection
   * from a trusted address must begin with a header, read in the
   * connection's own task before its handler runs (or before
   * {@linkcode TcpServer.accept} hands it out), within `timeout`; its
   * `remoteAddr` and `localAddr` then say who the client is, which
   * `maxConnections`, `idleTimeout` and error reports see too. A trusted peer
   * that closes without sending a byte (a health check) is closed quietly; a
   * bad or late header closes the connection and is reported. Connections
   * from other addresses are served as direct ones: nothing is parsed, and
   * their bytes, a forged header included, reach the handler as data.
   *
   * @default {undefined} (off: never auto-detected)
   */
  proxyProtocol?: ProxyProtocolOptions;
  /**
   * Who may connect, and how much; decided on the client's real address (a
   * PROXY header's, from a trusted balancer) before the handler runs. A
   * refused connection is closed at once and counted in
   * {@linkcode TcpServer.stats}, not reported. All rules are off by
   * default: a tutorial's clients all come from 127.0.0.1, and many users
   * behind one NAT share an address.
   *
   * @default {undefined} (everyone, as often as they like)
   */
  admission?: AdmissionOptions;
  /**
   * Closes a connection that has sent nothing this many milliseconds after
   * it was accepted (a PROXY header counts). Off by default, since in many
   * protocols the server speaks first (a greeting) and the client may think
   * for a while; turn it on for protocols where the client speaks first.
   *
   * @default {undefined} (never)
   */
  firstByteTimeout?: number;
  /**
   * Closes a connection whose write has made no progress (the peer reads
   * nothing) for this many milliseconds; the write rejects with a
   * {@linkcode Deno.errors.TimedOut} that says so.
   *
   * @default {60000}
   */
  writeTimeout?: number;
  /** Aborting it shuts the server down gracefully, as {@linkcode TcpServer.shutdown} does. */
  signal?: AbortSignal;
  /**
   * Called when a handler throws or rejects (with its connection) and when
   * accepting, or reading a PROXY header, fails (without one). The server
   * goes on serving either way. Errors that only mean the peer went away
   * (reset, broken pipe) are not reported: they are the network's doing, not
   * the handler's.
   *
   * @default {A one-line message on stderr naming the peer}
   */
  onError?: (error: unknown, conn?: TcpConnection<A>) => void;
}

/** Options for {@linkcode TcpServer.listen} on a TCP port. */
export interface TcpServerOptions extends ServerOptions<Deno.NetAddr> {
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
   * How long, in milliseconds, a TLS client has to complete its handshake
   * before the connection is closed (it is counted in
   * {@linkcode TcpServer.stats}, not reported).
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Whether accepted connections send small writes at once (Nagle's
   * algorithm off). Request/reply protocols want `true`. The runtime offers
   * no way to set it on TLS connections, so TLS ignores it.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * Lets several processes listen on the same port (`SO_REUSEPORT`): the
   * kernel spreads new connections over them, so a server can use every core
   * and be restarted one process at a time. Linux only: Deno sets the option
   * on Linux alone, so elsewhere a second process gets
   * {@linkcode Deno.errors.AddrInUse}. Deno 2.9 needs the `--unstable-net`
   * flag for it; without the flag, `listen()` throws a
   * {@linkcode Deno.errors.NotSupported} that says so (the runtime itself
   * would end the process).
   *
   * @default {false}
   */
  reusePort?: boolean;
}

/** Options for {@linkcode TcpServer.listen} on a Unix domain socket. */
export interface UnixServerOptions
  extends ServerOptions<Deno.NetAddr | Deno.UnixAddr> {
  /**
   * The socket file's path, or a Linux abstract name starting with `"\0"`.
   * A socket file already there is replaced, as Python's asyncio does: a
   * server that crashed leaves one behind, and binding would fail. (Deno
   * cannot tell without the `--allow-all` flag whether a process still
   * listens on it; one that does keeps the connections it has, and new
   * clients reach the new server.) Any other kind of file there is left
   * alone and refused with {@linkcode Deno.errors.AddrInUse}. The server
   * removes its own file when it stops.
   */
  path: string;
}

/**
 * Admission rules; see {@linkcode ServerOptions.admission}. A client is one
 * IPv4 address, or one IPv6 network (a /64: a site can use every address in
 * it). Peers without an IP address (a Unix socket's, without a PROXY header)
 * are one local client that the lists do not apply to.
 */
export interface AdmissionOptions {
  /**
   * Only clients in these networks and addresses are served
   * (`"10.0.0.0/8"`, `"2001:db8::/32"`, `"192.0.2.7"`).
   *
   * @default {undefined} (every client)
   */
  allow?: string[];
  /**
   * Clients in these networks and addresses are refused, whatever `allow`
   * says. 1,000 entries cost a lookup of well under a microsecond.
   *
   * @default {undefined} (none)
   */
  deny?: string[];
  /**
   * The most connections one client may have open at once; one more is
   * refused, while other clients go on being served.
   *
   * @default {Infinity}
   */
  maxPerClient?: number;
  /**
   * How fast one client may open new connections: `perSecond` on average,
   * up to `burst` at once (a token bucket per client). A reconnect loop is
   * held to it, and other clients do not notice it.
   *
   * @default {undefined} (no limit)
   */
  rate?: { perSecond: number; burst: number };
  /**
   * How many leading bits of an IPv6 address name one client.
   *
   * @default {64}
   */
  ipv6Prefix?: number;
}

/** What {@linkcode TcpServer.stats} reports: counts since the server started. */
export interface ServerStats {
  /** Connections accepted. */
  accepted: number;
  /** Connections open now. */
  active: number;
  /** Connections refused by the admission rules, by rule. */
  refused: { deny: number; allow: number; perClient: number; rate: number };
  /**
   * Connections the server ended itself, by why: `idle` (`idleTimeout`),
   * `firstByte` (`firstByteTimeout`), `writeStall` (`writeTimeout`),
   * `handshake` (a TLS handshake that failed or timed out), `proxyHeader`
   * (a bad or late PROXY header), `maxAge` (asked to end at
   * `maxConnectionAge`), `cut` (still open at the end of a shutdown, or at
   * `close()`), `closedByServer` ({@linkcode TcpServer.closeConnections}).
   */
  closed: {
    idle: number;
    firstByte: number;
    writeStall: number;
    handshake: number;
    proxyHeader: number;
    maxAge: number;
    cut: number;
    closedByServer: number;
  };
  /** Handler failures reported through `onError`. */
  handlerErrors: number;
  /** Bytes received on every connection, open or closed. */
  bytesRead: number;
  /** Bytes sent on every connection, open or closed. */
  bytesWritten: number;
  /**
   * The clients with the most connections open now, most first (at most
   * 10): an IPv4 address, an IPv6 network such as `2001:db8::/64`, or
   * `"local"` for Unix socket peers.
   */
  topClients: { client: string; connections: number }[];
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

/**
 * A function that serves one connection; see {@linkcode TcpServer.serve}.
 *
 * @typeParam A The connection's address type.
 */
export type TcpHandler<A extends Deno.NetAddr | Deno.UnixAddr = Deno.NetAddr> =
  (
    conn: TcpConnection<A>,
  ) => unknown;

/**
 * The reason {@linkcode TcpConnection.signal} aborts with when a connection
 * reaches the server's `maxConnectionAge`: the handler should finish its
 * exchange and close, and the client reconnect.
 *
 * @example Telling a connection's age from a shutdown
 * ```ts
 * import { MaxConnectionAgeError, TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   maxConnectionAge: 50,
 * });
 * const serving = server.serve(async (conn) => {
 *   const error = await conn.readLine().catch((e) => e);
 *   assert.ok(error instanceof MaxConnectionAgeError);
 *   await conn.write("reconnect, please\n");
 * });
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * assert.equal(await client.readLine(), "reconnect, please");
 * await server.shutdown();
 * await serving;
 * ```
 */
export class MaxConnectionAgeError extends Deno.errors.Interrupted {
  /**
   * Makes the reason.
   *
   * @param message What happened.
   */
  constructor(message: string) {
    super(message);
    this.name = "MaxConnectionAgeError";
  }
}

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
export class TcpServer<A extends Deno.NetAddr | Deno.UnixAddr = Deno.NetAddr>
  implements AsyncIterable<TcpConnection<A>>, AsyncDisposable {
  #listener: Deno.Listener;
  #addr: A;
  #label: string;
  #socketFile: { path: string; ino: number | null } | undefined;
  #maxConnections: number;
  #noDelay: boolean;
  #onError: (error: unknown, conn?: TcpConnection<A>) => void;
  #deadlines: Deadlines<TcpConnection<A>>;
  #admission: Admission;
  /** The admitted connections' client keys, to count them as closed. */
  #clients = new Map<TcpConnection<A>, string>();
  #handshakeTimeout: number | undefined;
  #stats = {
    accepted: 0,
    refused: { deny: 0, allow: 0, perClient: 0, rate: 0 },
    closed: {
      idle: 0,
      firstByte: 0,
      writeStall: 0,
      handshake: 0,
      proxyHeader: 0,
      maxAge: 0,
      cut: 0,
      closedByServer: 0,
    },
    handlerErrors: 0,
    bytesRead: 0,
    bytesWritten: 0,
  };
  #metrics: Disposable;
  #proxy:
    | { trusted: CidrSet | undefined; timeout: number; maxLength?: number }
    | undefined;
  #signal: AbortSignal | undefined;
  #live = new Set<TcpConnection<A>>();
  /** Connections the server closed itself, for shutdown's count. */
  #cut = new WeakSet<TcpConnection<A>>();
  #handlers = 0;
  /** Handlers the server stopped waiting for, once it gave up on them. */
  #abandoned: number | undefined;
  #serving = false;
  // accept(): connections accepted (and their PROXY headers read, each in
  // its own task) that wait to be handed out, and what wakes accept().
  #ready: TcpConnection<A>[] = [];
  #preparing = 0;
  #accepting = false;
  #acceptWaiting = false;
  #wakeReady: (() => void) | undefined;
  #stopping = false;
  /** Why connections are interrupted, once a graceful shutdown has begun. */
  #stopReason: unknown;
  /** Why connections are closed, once they have been cut. */
  #cutReason: unknown;
  #stopped: Promise<void> | undefined;
  #portFree = false;
  #pendingAccept: Promise<unknown> | undefined;
  #wake: (() => void) | undefined;
  #shutdown: Promise<ShutdownResult> | undefined;
  #finished: Promise<void>;
  #resolveFinished!: () => void;

  private constructor(
    listener: Deno.Listener,
    options: ServerOptions<A> & { noDelay?: boolean; tls?: boolean },
    checked: Checked,
    socketFile: { path: string; ino: number | null } | undefined,
  ) {
    this.#listener = listener;
    this.#addr = listener.addr as A;
    this.#label = formatAddr(this.#addr);
    this.#socketFile = socketFile;
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
    const { idleTimeout, maxConnectionAge, proxyProtocol, firstByteTimeout } =
      options;
    const writeTimeout = options.writeTimeout ?? DEFAULT_WRITE_TIMEOUT;
    const closed = this.#stats.closed;
    const why = (conn: TcpConnection<A>, what: string) =>
      `Connection from "${formatAddr(conn.remoteAddr)}" ${what}`;
    this.#deadlines = new Deadlines<TcpConnection<A>>(this.#live, {
      idleTimeout,
      onIdle: (conn) => {
        closed.idle++;
        conn.close(
          new Deno.errors.TimedOut(why(conn, `was idle for ${idleTimeout} ms`)),
        );
      },
      firstByteTimeout,
      onSilent: (conn) => {
        closed.firstByte++;
        conn.close(
          new Deno.errors.TimedOut(
            why(conn, `sent nothing within ${firstByteTimeout} ms`),
          ),
        );
      },
      writeTimeout,
      onWriteStall: (conn) => {
        closed.writeStall++;
        conn.close(
          new Deno.errors.TimedOut(
            why(conn, `read nothing of a write for ${writeTimeout} ms`),
          ),
        );
      },
      headerTimeout: proxyProtocol &&
        (proxyProtocol.timeout ?? DEFAULT_PROXY_TIMEOUT),
      onLate: (conn) => {
        conn.close(
          new Deno.errors.TimedOut(
            `Cannot read the PROXY header from "${
              formatAddr(conn.socketRemoteAddr)
            }": timed out after ${
              proxyProtocol!.timeout ?? DEFAULT_PROXY_TIMEOUT
            } ms`,
          ),
        );
      },
      maxAge: maxConnectionAge,
      onAge: (conn) => {
        closed.maxAge++;
        conn.interrupt(
          new MaxConnectionAgeError(
            why(conn, `reached its maximum age (${maxConnectionAge} ms)`),
          ),
        );
      },
    });
    this.#admission = checked.admission;
    if (options.tls) {
      this.#handshakeTimeout = (options as TcpServerOptions).handshakeTimeout ??
        DEFAULT_HANDSHAKE_TIMEOUT;
    }
    if (proxyProtocol !== undefined) {
      this.#proxy = {
        trusted: checked.trusted,
        timeout: proxyProtocol.timeout ?? DEFAULT_PROXY_TIMEOUT,
        maxLength: proxyProtocol.maxLength,
      };
    }
    this.#finished = new Promise((resolve) => this.#resolveFinished = resolve);
    this.#metrics = exportMetrics(this.#label, () => this.stats());
    const signal = options.signal;
    if (signal) {
      this.#signal = signal;
      signal.addEventListener("abort", this.#onAbort, { once: true });
      if (signal.aborted) this.#onAbort();
    }
  }

  /**
   * Binds a listening TCP socket at once and returns the server. Nothing is
   * accepted until the server is iterated or served.
   *
   * @param options Where to listen and how to behave.
   * @returns The listening server.
   * @throws {RangeError} If `port`, `maxConnections`, `idleTimeout`,
   * `maxConnectionAge` or a PROXY option is out of range.
   * @throws {TypeError} If only one of `cert` and `key` is given, or
   * `proxyProtocol` has no `trusted` list or a bad entry in it.
   * @throws {Deno.errors.AddrInUse} If the address is taken; the message names it.
   * @throws {Deno.errors.NotSupported} If `reusePort` is asked for without
   * Deno's `--unstable-net` flag.
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
  static listen(options?: TcpServerOptions): TcpServer<Deno.NetAddr>;
  /**
   * Binds a listening Unix domain socket at once and returns the server.
   * Its connections' addresses are Unix socket addresses, or the client's
   * TCP address where a PROXY header (from nginx, say) gives one.
   *
   * @param options The socket's path, and how to behave.
   * @returns The listening server.
   * @throws {TypeError} If `path` is empty.
   * @throws {Deno.errors.AddrInUse} If a file that is not a socket is there.
   *
   * @example Serving on a socket file
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * const path = `${await Deno.makeTempDir()}/echo.sock`;
   * await using server = TcpServer.listen({ path });
   * const serving = server.serve((conn) => conn.copyTo(conn));
   * await using client = await TcpClient.connect({ path });
   * await client.write("hi\n");
   * assert.equal(await client.readLine(), "hi");
   * client.close();
   * await server.shutdown();
   * await serving;
   * ```
   */
  static listen(
    options: UnixServerOptions,
  ): TcpServer<Deno.NetAddr | Deno.UnixAddr>;
  // deno-lint-ignore no-explicit-any
  static listen(options: TcpServerOptions | UnixServerOptions = {}): any {
    const checked = checkServerOptions(options);
    prepareRuntime();
    if ("path" in options && options.path !== undefined) {
      const { listener, socketFile } = listenUnix(options.path);
      return new TcpServer(listener, options, checked, socketFile);
    }
    const tcp = options as TcpServerOptions;
    return new TcpServer(
      listenTcp(tcp),
      { ...options, tls: tcp.cert !== undefined },
      checked,
      undefined,
    );
  }

  /** The address the server is bound to, with the real port when 0 was asked. */
  get addr(): A {
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
   * What the server has done since it started: connections accepted, open,
   * refused by rule and ended by reason, handler errors, bytes in and out,
   * and the clients with the most connections open. Where Deno's
   * OpenTelemetry is on (`OTEL_DENO=true`), the same counters are exported
   * as metrics (`netkit.tcp.server.*`).
   *
   * @returns A snapshot.
   *
   * @example Watching the server
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.write("hi\n"));
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * assert.equal(await client.readLine(), "hi");
   * assert.equal(server.stats().accepted, 1);
   * await server.shutdown();
   * await serving;
   * assert.equal(server.stats().bytesWritten, 3);
   * ```
   */
  stats(): ServerStats {
    const s = this.#stats;
    let bytesRead = s.bytesRead;
    let bytesWritten = s.bytesWritten;
    for (const conn of this.#live) {
      bytesRead += conn.bytesRead;
      bytesWritten += conn.bytesWritten;
    }
    return {
      accepted: s.accepted,
      active: this.#live.size,
      refused: { ...s.refused },
      closed: { ...s.closed },
      handlerErrors: s.handlerErrors,
      bytesRead,
      bytesWritten,
      topClients: this.#admission.top(TOP_CLIENTS, () => this.#hostnames()),
    };
  }

  *#hostnames(): Generator<string | undefined> {
    for (const conn of this.#live) {
      const remote = conn.remoteAddr;
      yield "hostname" in remote ? remote.hostname : undefined;
    }
  }

  /**
   * The connections open now: to look at who is connected.
   *
   * @returns A snapshot of the open connections.
   *
   * @example Listing the clients
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve((conn) => conn.closed);
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * while (server.connections === 0) await new Promise((r) => setTimeout(r, 1));
   * const [conn] = server.openConnections();
   * assert.equal(conn.remoteAddr.port, client.localAddr.port);
   * await server.close();
   * await serving;
   * ```
   */
  openConnections(): TcpConnection<A>[] {
    return [...this.#live];
  }

  /**
   * Closes every open connection that `predicate` picks, such as all of one
   * client's: their reads end and their writes fail with `reason`.
   *
   * @param predicate Picks the connections to close.
   * @param reason Why, for each connection's signal and its writes.
   * @returns How many connections were closed.
   *
   * @example Closing one client's connections
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(async (conn) => {
   *   for await (const line of conn.lines()) await conn.write(`${line}\n`);
   * });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * await client.write("hi\n");
   * assert.equal(await client.readLine(), "hi");
   * const port = client.localAddr.port;
   * assert.equal(server.closeConnections((conn) => conn.remoteAddr.port === port), 1);
   * assert.equal(await client.read(), null);
   * await server.shutdown();
   * await serving;
   * ```
   */
  closeConnections(
    predicate: (conn: TcpConnection<A>) => boolean,
    reason?: unknown,
  ): number {
    let closed = 0;
    for (const conn of this.#live) {
      if (!predicate(conn)) continue;
      conn.close(
        reason ?? new Deno.errors.Interrupted(
          `Connection from "${
            formatAddr(conn.remoteAddr)
          }" was closed by the server`,
        ),
      );
      closed++;
    }
    this.#stats.closed.closedByServer += closed;
    return closed;
  }

  /**
   * Waits for the next connection, as Python's `socket.accept()` does: the
   * tutorial's accept loop one step at a time. The caller closes it. Other
   * clients are accepted meanwhile (their PROXY headers read in tasks of
   * their own), so a slow one holds nobody up.
   *
   * @returns The connection, or `null` once the server stops.
   * @throws {TypeError} If the server is being served, or another `accept()`
   * is waiting.
   *
   * @example Serving one client, then stopping
   * ```ts
   * import { TcpClient, TcpServer } from "@netkit/tcp";
   * import assert from "node:assert/strict";
   *
   * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
   * await using client = await TcpClient.connect({ port: server.addr.port });
   * const conn = await server.accept();
   * assert.ok(conn);
   * await conn.write("thank you !");
   * conn.close();
   * assert.equal(new TextDecoder().decode(await client.readExact(11)), "thank you !");
   * ```
   */
  async accept(): Promise<TcpConnection<A> | null> {
    if (this.#serving || this.#acceptWaiting) {
      throw new TypeError(
        `Cannot accept on "${this.#label}": the server is already being ${
          this.#serving ? "served" : "accepted from"
        }`,
      );
    }
    this.#acceptWaiting = true;
    try {
      for (;;) {
        const conn = this.#ready.shift();
        if (conn !== undefined) return conn;
        if (this.#stopping && !this.#accepting && this.#preparing === 0) {
          return null;
        }
        if (!this.#accepting) this.#acceptForCaller();
        await new Promise<void>((resolve) => this.#wakeReady = resolve);
      }
    } finally {
      this.#acceptWaiting = false;
    }
  }

  /** Accepts one connection for accept(), and readies it in its own task. */
  async #acceptForCaller(): Promise<void> {
    this.#accepting = true;
    const conn = await this.#accept();
    this.#accepting = false;
    if (conn !== null) {
      // The caller owns it: it counts until closed, whoever closes it.
      conn.closed.then(() => this.#forget(conn));
      if (!this.#needsPreparing) {
        this.#ready.push(conn);
      } else {
        this.#preparing++;
        this.#prepare(conn).then((ready) => {
          this.#preparing--;
          if (ready) this.#ready.push(conn);
          this.#readyChanged();
        });
      }
    }
    this.#readyChanged();
  }

  #readyChanged(): void {
    const wake = this.#wakeReady;
    this.#wakeReady = undefined;
    wake?.();
  }

  /**
   * Accepts connections until the server stops, as
   * {@linkcode TcpServer.accept} does one by one. Only one loop (or one
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
  async *[Symbol.asyncIterator](): AsyncGenerator<
    TcpConnection<A>,
    void,
    void
  > {
    for (let conn; (conn = await this.accept()) !== null;) yield conn;
  }

  /**
   * Serves every connection with `handler`, each concurrently. The handler's
   * connection is closed when it returns. A handler that throws or rejects is
   * reported through `onError`, its connection is closed, and the server goes
   * on. With `proxyProtocol`, a trusted peer's header has been read when the
   * handler starts.
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
  async serve(handler: TcpHandler<A>): Promise<void> {
    if (this.#serving || this.#acceptWaiting) {
      throw new TypeError(
        `Cannot accept on "${this.#label}": the server is already being iterated or served`,
      );
    }
    this.#serving = true;
    try {
      // Connections accept() readied but nobody took.
      for (const conn of this.#ready.splice(0)) this.#handle(conn, handler);
      for (let conn; (conn = await this.#accept()) !== null;) {
        this.#handle(conn, handler);
      }
    } finally {
      this.#serving = false;
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

  /** Returns the next connection, or `null` once the server stops. */
  async #accept(): Promise<TcpConnection<A> | null> {
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
      const conn = this.#adopt(raw);
      // Accepted as the server stops: its client already thinks it is
      // connected (a rolling restart behind a balancer hits this). It is
      // served, and told at once that the server is stopping, or cut with
      // the rest.
      if (this.#stopReason !== undefined) conn.interrupt(this.#stopReason);
      if (this.#cutReason !== undefined) {
        this.#cut.add(conn);
        this.#stats.closed.cut++;
        conn.close(this.#cutReason);
      }
      return conn;
    }
    return null;
  }

  #adopt(raw: Deno.Conn): TcpConnection<A> {
    const conn = new TcpConnection<A>(raw as Deno.Conn<A>);
    try {
      if (this.#noDelay) conn.setNoDelay(true);
    } catch {
      // Some systems refuse options on a socket the peer already reset; the
      // connection's first read will say so.
    }
    this.#live.add(conn);
    this.#stats.accepted++;
    this.#deadlines.add(conn);
    return conn;
  }

  /**
   * Readies a new connection in its own task: the TLS handshake, the PROXY
   * header of a trusted peer, then the admission rules on the client's real
   * address.
   *
   * @returns Whether the connection may be served; when not, it is closed.
   */
  async #prepare(conn: TcpConnection<A>): Promise<boolean> {
    if (this.#handshakeTimeout !== undefined) {
      try {
        await conn.handshake({ timeout: this.#handshakeTimeout });
      } catch (error) {
        // A port scan, a client that does not trust the certificate, one
        // that stalls: counted, not reported.
        this.#stats.closed.handshake++;
        conn.close(error);
        return false;
      }
    }
    if (!await this.#readHeader(conn)) return false;
    if (!this.#admission.active) return true;
    const remote = conn.remoteAddr;
    const verdict = this.#admission.admit(
      "hostname" in remote ? remote.hostname : undefined,
    );
    if (typeof verdict !== "string") {
      this.#stats.refused[verdict.refused]++;
      conn.close();
      return false;
    }
    if (this.#admission.counting) this.#clients.set(conn, verdict);
    return true;
  }

  /**
   * Whether new connections need readying before they are served: a TLS
   * handshake to wait for, a PROXY header to read, or admission rules. A
   * plain server skips the step, and the promises it costs.
   */
  get #needsPreparing(): boolean {
    return this.#handshakeTimeout !== undefined || this.#proxy !== undefined ||
      this.#admission.active;
  }

  /**
   * Reads the PROXY header that a trusted peer must send.
   *
   * @returns Whether the connection may be served; when not, it is closed.
   */
  async #readHeader(conn: TcpConnection<A>): Promise<boolean> {
    const proxy = this.#proxy;
    if (proxy === undefined) return true;
    const peer = conn.socketRemoteAddr;
    if (
      proxy.trusted !== undefined &&
      !("hostname" in peer && proxy.trusted.has(peer.hostname))
    ) {
      return true;
    }
    // The deadline is the sweeping timer's: a timer per connection would
    // cost every balancer connection more than parsing its header.
    this.#deadlines.expectHeader(conn);
    try {
      // A header on its way when a graceful shutdown begins is let in: the
      // balancer gave the connection to a client that is sending. Its
      // deadline, and the shutdown's timeout, still bound the wait.
      await conn.readProxyHeader({
        maxLength: proxy.maxLength,
        interruptible: false,
      });
      this.#deadlines.expectHeader(conn, false);
      return true;
    } catch (error) {
      // Closed at its deadline: the reason says so.
      const late = conn.signal.reason instanceof Deno.errors.TimedOut;
      const failure = late ? conn.signal.reason : error;
      // A health check that connects and closes, a peer that resets, and
      // the server's own shutdown are nobody's fault.
      const quiet = !late && (conn.signal.aborted || isDisconnect(error) ||
        (error instanceof IncompleteReadError && error.partial.length === 0));
      if (!quiet) {
        this.#stats.closed.proxyHeader++;
        this.#report(failure);
      }
      conn.close(failure);
      return false;
    }
  }

  async #handle(conn: TcpConnection<A>, handler: TcpHandler<A>): Promise<void> {
    this.#handlers++;
    try {
      if (!this.#needsPreparing || await this.#prepare(conn)) {
        await handler(conn);
      }
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

  /** Stops counting a connection that is closed, or whose handler returned. */
  #forget(conn: TcpConnection<A>): void {
    if (!this.#live.delete(conn)) return;
    this.#deadlines.delete(conn);
    this.#stats.bytesRead += conn.bytesRead;
    this.#stats.bytesWritten += conn.bytesWritten;
    const client = this.#clients.get(conn);
    if (client !== undefined) {
      this.#clients.delete(conn);
      this.#admission.release(client);
    }
    this.#wakeUp();
    this.#checkFinished();
  }

  #report(error: unknown, conn?: TcpConnection<A>): void {
    if (conn !== undefined) this.#stats.handlerErrors++;
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
    removeSocketFile(this.#socketFile);
    this.#metrics[Symbol.dispose]();
    this.#wakeUp();
    this.#readyChanged();
    // The port is released only once a pending accept has settled.
    this.#stopped = (this.#pendingAccept ?? Promise.resolve()).then(() => {
      this.#portFree = true;
      this.#checkFinished();
    });
    return this.#stopped;
  }

  async #drain(timeout: number): Promise<ShutdownResult> {
    const reason = new Deno.errors.Interrupted(
      `Server on "${this.#label}" is shutting down`,
    );
    this.#stopReason = reason;
    await this.#stop();
    const open = new Set(this.#live);
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
    this.#cutReason ??= reason;
    for (const conn of this.#live) {
      this.#cut.add(conn);
      this.#stats.closed.cut++;
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

/** Checks the options every server takes, before anything is bound. */
function checkServerOptions(
  options: TcpServerOptions | UnixServerOptions,
): Checked {
  const { maxConnections, proxyProtocol, admission } = options;
  if (
    maxConnections !== undefined &&
    !(maxConnections === Infinity ||
      (Number.isInteger(maxConnections) && maxConnections > 0))
  ) {
    throw new RangeError(
      `Cannot listen with maxConnections ${maxConnections}: it must be a positive integer`,
    );
  }
  const tcp = options as TcpServerOptions;
  checkMs("idleTimeout", options.idleTimeout);
  checkMs("maxConnectionAge", options.maxConnectionAge);
  checkMs("firstByteTimeout", options.firstByteTimeout);
  checkMs("writeTimeout", options.writeTimeout);
  checkMs("handshakeTimeout", tcp.handshakeTimeout);
  checkMs("proxyProtocol.timeout", proxyProtocol?.timeout);
  if (admission?.maxPerClient !== undefined) {
    const max = admission.maxPerClient;
    if (!(max === Infinity || (Number.isInteger(max) && max > 0))) {
      throw new RangeError(
        `Cannot listen with admission.maxPerClient ${max}: it must be a positive integer`,
      );
    }
  }
  if (admission?.rate !== undefined) {
    const { perSecond, burst } = admission.rate;
    if (!(perSecond > 0 && Number.isFinite(perSecond) && burst >= 1)) {
      throw new RangeError(
        `Cannot listen with admission.rate ${perSecond}/s, burst ${burst}: the rate must be positive and the burst at least 1`,
      );
    }
  }
  const prefix = admission?.ipv6Prefix;
  if (
    prefix !== undefined &&
    !(Number.isInteger(prefix) && prefix >= 0 && prefix <= 128)
  ) {
    throw new RangeError(
      `Cannot listen with admission.ipv6Prefix ${prefix}: it must be an integer from 0 to 128`,
    );
  }
  // Bad networks are refused now, by the sets that parse them.
  const checked: Checked = { admission: new Admission(admission) };
  if (proxyProtocol === undefined) return checked;
  const unix = "path" in options && options.path !== undefined;
  if (!unix && tcp.cert !== undefined) {
    throw new TypeError(
      "Cannot listen with proxyProtocol and TLS: the header comes before the TLS handshake, and Deno cannot start TLS on an accepted connection; end TLS at the load balancer, or send the header inside TLS",
    );
  }
  if (unix && proxyProtocol.trusted !== undefined) {
    throw new TypeError(
      "Cannot listen with proxyProtocol: a Unix socket takes no trusted list (every process that can open it is trusted)",
    );
  }
  if (!unix && proxyProtocol.trusted === undefined) {
    throw new TypeError(
      'Cannot listen with proxyProtocol: it needs the "trusted" addresses of the load balancers, since whoever may send the header chooses the address the server sees',
    );
  }
  checked.trusted = proxyProtocol.trusted && new CidrSet(proxyProtocol.trusted);
  return checked;
}

/** What checkServerOptions made of the options, for the server to use. */
interface Checked {
  admission: Admission;
  trusted?: CidrSet;
}

function checkMs(name: string, ms: number | undefined): void {
  if (ms !== undefined && !(ms > 0 && ms <= 2 ** 31 - 1)) {
    throw new RangeError(
      `Cannot listen with ${name} ${ms}: it must be a positive number of milliseconds`,
    );
  }
}

function listenTcp(options: TcpServerOptions): Deno.Listener {
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot listen on port ${port}: the port must be an integer from 0 to 65535`,
    );
  }
  const { cert, key, reusePort } = options;
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError(
      "Cannot listen with TLS: both cert and key are needed",
    );
  }
  const context = `Cannot listen on "${formatAddr({ hostname, port })}"`;
  // Without the flag the runtime ends the process, uncatchably (exit 70).
  // Deno.listenDatagram exists exactly when --unstable-net is given.
  if (reusePort && !("listenDatagram" in Deno)) {
    throw new Deno.errors.NotSupported(
      `${context} with reusePort: Deno needs the --unstable-net flag for it (deno run --unstable-net ...)`,
    );
  }
  const shared = reusePort ? { reusePort: true } : {};
  try {
    return cert !== undefined && key !== undefined
      ? Deno.listenTls({
        hostname,
        port,
        cert,
        key,
        transport: "tcp",
        ...shared,
      })
      : Deno.listen({ hostname, port, transport: "tcp", ...shared });
  } catch (error) {
    const resolution = resolutionError(error, hostname, context);
    throw resolution === error ? describeError(error, context) : resolution;
  }
}

/**
 * Listens on a Unix socket, replacing a socket file already at `path` (a
 * crashed server leaves one, and binding fails while it is there).
 */
function listenUnix(
  path: string,
): {
  listener: Deno.Listener;
  socketFile: { path: string; ino: number | null } | undefined;
} {
  if (typeof path !== "string" || path === "") {
    throw new TypeError("Cannot listen: path must be a non-empty string");
  }
  const context = `Cannot listen on "${
    formatAddr({ transport: "unix", path })
  }"`;
  const abstract = path.startsWith("\0");
  const bind = () => Deno.listen({ transport: "unix", path });
  let listener: Deno.Listener;
  try {
    listener = bind();
  } catch (error) {
    if (
      !(error instanceof Deno.errors.AddrInUse) || abstract ||
      !isSocketFile(path)
    ) {
      throw describeError(error, context);
    }
    try {
      Deno.removeSync(path);
      listener = bind();
    } catch (retryError) {
      throw describeError(retryError, context);
    }
  }
  if (abstract) return { listener, socketFile: undefined };
  let ino: number | null = null;
  try {
    ino = Deno.lstatSync(path).ino;
  } catch {
    // Nothing to compare with later: the file is left alone.
  }
  return { listener, socketFile: { path, ino } };
}

function isSocketFile(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSocket === true;
  } catch {
    return false;
  }
}

/** Removes the server's socket file, if it is still the one it bound. */
function removeSocketFile(
  file: { path: string; ino: number | null } | undefined,
): void {
  if (file === undefined || file.ino === null) return;
  try {
    if (Deno.lstatSync(file.path).ino === file.ino) Deno.removeSync(file.path);
  } catch {
    // Gone already, or not ours to remove.
  }
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
