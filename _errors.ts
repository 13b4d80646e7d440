// Copyright 2026 the tcp authors. MIT license.
// Error helpers shared by the server, the client and the connection.

/** Formats an address as `host:port`, with brackets around an IPv6 host. */
export function formatAddr(addr: { hostname: string; port: number }): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Returns an error of the same class as `error` whose message starts with
 * `context` (which says what failed and where) and whose `cause` is the
 * original. The runtime's messages name neither the operation nor the address.
 */
export function describeError(error: unknown, context: string): unknown {
  if (!(error instanceof Error)) return error;
  const detail = error.message.charAt(0).toLowerCase() + error.message.slice(1);
  // Only classes known to take (message, options): a class of our own may
  // take other arguments.
  const Class = error.constructor as new (
    message: string,
    options: ErrorOptions,
  ) => Error;
  const known = Class === Error || Class === TypeError ||
    Class === RangeError ||
    (Object.values(Deno.errors) as unknown[]).includes(Class);
  const wrapped = new (known ? Class : Error)(`${context}: ${detail}`, {
    cause: error,
  });
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(wrapped, { code });
  return wrapped;
}
