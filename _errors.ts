// Copyright 2026 the tcp authors. MIT license.
// Error helpers shared by the server, the client and the connection.

/** Formats an address as `host:port`, with brackets around an IPv6 host. */
export function formatAddr(addr: { hostname: string; port: number }): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
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
