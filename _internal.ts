// Copyright 2026 the tcp authors. MIT license.
// Hooks the server uses on its connections; not part of the public API.

/** Sets the callback a connection calls once when it closes. */
export const kOnClose: unique symbol = Symbol("onClose");
/** Closes a connection with a reason that its `signal` reports. */
export const kCloseWith: unique symbol = Symbol("closeWith");
/** Aborts a connection's `signal` without closing it. */
export const kAbort: unique symbol = Symbol("abort");
