// Copyright 2026 the tcp authors. MIT license.
// Error helpers shared by the server, the client and the connection.

/**
 * Formats an address as `host:port`, with brackets around an IPv6 host, or a
 * Unix socket's path (`@name` for a Linux abstract name, as `ss` shows it).
 */
export function formatAddr(
  addr: Deno.UnixAddr | { hostname: string; port: number },
): string {
  if ("path" in addr) {
    // A client's socket has no name (the runtime says null).
    if (!addr.path) return "unnamed unix socket";
    return addr.path.startsWith("\0") ? `@${addr.path.slice(1)}` : addr.path;
  }
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Names the peer of a connection: its address, or for a Unix socket client,
 * which has no name, the socket it came through.
 */
export function formatPeer(conn: {
  readonly remoteAddr: Deno.NetAddr | Deno.UnixAddr;
  readonly localAddr: Deno.NetAddr | Deno.UnixAddr;
}): string {
  const remote = conn.remoteAddr;
  return "path" in remote && !remote.path
    ? `client of ${formatAddr(conn.localAddr)}`
    : formatAddr(remote);
}

/**
 * Puts `context` (what failed and where) in front of an error's message: the
 * runtime's messages name neither the operation nor the address. The error
 * itself is re-thrown, so its class, `code` and stack (the caller's await
 * included) stay as they were; making a new error instead would cost a
 * second stack trace on paths such as a peer's reset, which a busy server
 * takes thousands of times a second. An error whose message cannot be
 * changed is wrapped in an `Error` with it as `cause`.
 */
export function describeError(error: unknown, context: string): unknown {
  if (!(error instanceof Error)) return error;
  const detail = error.message.charAt(0).toLowerCase() + error.message.slice(1);
  const message = `${context}: ${detail}`;
  try {
    error.message = message;
  } catch {
    // A read-only message, as DOMException has.
  }
  return error.message === message
    ? error
    : new Error(message, { cause: error });
}

/**
 * Thrown when a host name does not resolve to an address, when connecting or
 * listening. The message names the host once, with the resolver's reason.
 *
 * @example Telling a typo from a refusal
 * ```ts
 * import { NameResolutionError, TcpClient } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * // A label may not start with a hyphen: refused without asking a server.
 * const error = await TcpClient.connect({ hostname: "-no-such-host.invalid", port: 80 })
 *   .catch((e) => e);
 * assert.ok(error instanceof NameResolutionError);
 * assert.equal(error.hostname, "-no-such-host.invalid");
 * ```
 */
export class NameResolutionError extends Error {
  /** The host name that did not resolve. */
  readonly hostname: string;
  /**
   * Whether the resolver said the failure is temporary (`EAI_AGAIN`: no
   * answer from the name server), so that trying again later may work.
   */
  readonly temporary: boolean;

  /**
   * Makes an error for a host name that did not resolve.
   *
   * @param message What failed.
   * @param hostname The host name.
   * @param options The runtime's error as `cause`.
   */
  constructor(message: string, hostname: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NameResolutionError";
    this.hostname = hostname;
    this.temporary = /temporary/i.test(String(
      (options?.cause as Error | undefined)?.message,
    ));
  }
}

const LOOKUP_FAILED = /^failed to lookup address information: /i;

/**
 * Turns the runtime's plain `Error` for a failed lookup into a
 * {@linkcode NameResolutionError}; returns anything else as it is.
 *
 * @param context What failed and where: `Cannot connect to "host:port"`.
 */
export function resolutionError(
  error: unknown,
  hostname: string,
  context: string,
): unknown {
  if (
    !(error instanceof Error) || error.constructor !== Error ||
    !LOOKUP_FAILED.test(error.message)
  ) {
    return error;
  }
  const reason = error.message.replace(LOOKUP_FAILED, "");
  return new NameResolutionError(
    `${context}: cannot resolve the host name: ${
      reason.charAt(0).toLowerCase() + reason.slice(1)
    }`,
    hostname,
    { cause: error },
  );
}
