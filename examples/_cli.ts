// Copyright 2026 the tcp authors. MIT license.
// What every example needs to be a well-behaved command: flags with --help,
// one line on stderr and an exit code instead of a stack trace, graceful
// stop on Ctrl-C, and stdin as lines. Kept out of the examples so that they
// show the networking, not the plumbing.

import { parseArgs, type ParseArgsConfig } from "node:util";
import type { TcpHandler, TcpServer } from "../mod.ts";
import { NAME, VERSION } from "../_version.ts";

/** A mistake in the command line; {@linkcode run} exits with 2 for it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses `config.args` strictly. With `--help`, prints `usage` and exits 0;
 * with `-V` or `--version` (which every example takes, so `config` need not
 * declare it), prints the package's name and version and exits 0; an unknown
 * flag or a missing value becomes a {@linkcode UsageError}.
 */
export function parseFlags<T extends ParseArgsConfig>(
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<T>>["values"] {
  let values: ReturnType<typeof parseArgs<T>>["values"];
  try {
    values = parseArgs({
      strict: true,
      ...config,
      options: { ...config.options, version: { type: "boolean", short: "V" } },
    }).values as typeof values;
  } catch (error) {
    // The help flag must win even next to a bad one.
    if (config.args?.includes("--help") || config.args?.includes("-h")) {
      printUsage(usage);
    }
    const message = error instanceof Error ? error.message : String(error);
    // node:util adds advice about "--" that does not apply to these commands.
    throw new UsageError(`${message.replace(/\. To specify .*$/, "")}`);
  }
  if ((values as { help?: boolean }).help) printUsage(usage);
  if ((values as { version?: boolean }).version) {
    console.log(`${NAME} ${VERSION}`);
    Deno.exit(0);
  }
  return values;
}

function printUsage(usage: string): never {
  console.log(usage.trim());
  Deno.exit(0);
}

/**
 * Parses a port flag.
 *
 * @param allowZero Whether 0 (pick a free port) is allowed: for servers.
 */
export function parsePort(
  value: string,
  { flag = "--port", allowZero = false } = {},
): number {
  const min = allowZero ? 0 : 1;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= min && port <= 65535)) {
    throw new UsageError(
      `Invalid ${flag} ${
        JSON.stringify(value)
      }: it must be an integer from ${min} to 65535`,
    );
  }
  return port;
}

/** Parses a flag that must be a positive integer, such as a count. */
export function parsePositiveInteger(value: string, flag: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(Number.isSafeInteger(n) && n > 0)) {
    throw new UsageError(
      `Invalid ${flag} ${JSON.stringify(value)}: it must be a positive integer`,
    );
  }
  return n;
}

/** The longest timeout a timer can wait, in seconds (about 24 days). */
const MAX_SECONDS = 2_147_483;

/**
 * Parses a timeout flag, which every command here (and `http-fetch`, curl,
 * `nc -w`) takes in seconds, fractions allowed: `--timeout 0.5`. Returns
 * milliseconds, the unit of the library's options.
 */
export function parseSeconds(value: string, flag = "--timeout"): number {
  const seconds = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN;
  const ms = Math.round(seconds * 1000);
  if (!(ms >= 1)) {
    throw new UsageError(
      `Invalid ${flag} ${
        JSON.stringify(value)
      }: it must be a positive number of seconds`,
    );
  }
  if (seconds > MAX_SECONDS) {
    throw new UsageError(
      `Invalid ${flag} ${
        JSON.stringify(value)
      }: it must be at most ${MAX_SECONDS} seconds`,
    );
  }
  return ms;
}

/** Formats milliseconds in seconds, the unit of the commands' flags: `0.5 s`. */
export function formatSeconds(ms: number): string {
  return `${ms / 1000} s`;
}

/**
 * A signal that aborts `ms` milliseconds from now with a
 * `Deno.errors.TimedOut` that says what took too long: one deadline for a
 * whole exchange, passed to the connect and to every read. Its timer does not
 * keep the program alive.
 */
export function deadline(ms: number, what: string): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new Deno.errors.TimedOut(`${what} took longer than ${formatSeconds(ms)}`),
    );
  }, ms);
  Deno.unrefTimer(timer);
  return controller.signal;
}

/** Formats an address as `host:port`, with brackets around an IPv6 host. */
export function hostPort(addr: { hostname: string; port: number }): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** Makes one line of any error: its message, without the stack. */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ");
}

/**
 * Runs a command's main function: an error becomes `error: <message>` on
 * stderr and exit code 1 (2 for a {@linkcode UsageError}, 130 or 143 for an
 * {@linkcode Interrupted}). Errors that escape
 * into the background get the same treatment, so no stack trace ever shows.
 */
export async function run(
  main: (args: string[]) => Promise<void> | void,
): Promise<void> {
  const fail = (error: unknown) => {
    console.error(`error: ${errorLine(error)}`);
    Deno.exit(
      error instanceof UsageError
        ? 2
        : error instanceof Interrupted
        ? error.exitCode
        : 1,
    );
  };
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    fail(event.reason);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    fail(event.error);
  });
  try {
    await main(Deno.args);
  } catch (error) {
    fail(error);
  }
}

/**
 * Says `listening on HOST:PORT`, then serves with `handler` until Ctrl-C or
 * SIGTERM: the first shuts `server` down gracefully, a second closes it at
 * once. Then says how the shutdown went. The line comes only once the
 * signals are handled here: a supervisor may send SIGTERM the moment it
 * reads it.
 */
export async function serveUntilStopped(
  server: TcpServer,
  handler: TcpHandler,
): Promise<void> {
  using _signals = onTerminate((signal, count) => {
    if (count > 1) return void server.close();
    console.log(`${signal}: shutting down (again to stop at once)`);
    void server.shutdown({ timeout: 5000 });
  });
  console.log(`listening on ${hostPort(server.addr)}`);
  await server.serve(handler);
  const { drained, cut } = await server.shutdown();
  console.log(`stopped: ${drained} connections closed cleanly, ${cut} cut`);
}

/**
 * Calls `callback` on SIGINT (Ctrl-C) and SIGTERM, with how many such signals
 * have arrived, until disposed. While it is in place, those signals no longer
 * kill the process: the callback decides what stopping means.
 */
export function onTerminate(
  callback: (signal: Deno.Signal, count: number) => void,
): Disposable {
  // Windows has no SIGTERM; Ctrl-C still works there.
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  let count = 0;
  const listeners = signals.map((signal) => {
    const listener = () => callback(signal, ++count);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return {
    [Symbol.dispose]() {
      for (const [signal, listener] of listeners) {
        Deno.removeSignalListener(signal, listener);
      }
    },
  };
}

/**
 * The user stopped the command with Ctrl-C (SIGINT) or SIGTERM, and it
 * cleaned up. {@linkcode run} exits with 128 plus the signal's number, as a
 * shell reports a process that the signal killed: 130 or 143.
 */
export class Interrupted extends Error {
  readonly signal: Deno.Signal;

  constructor(signal: Deno.Signal, message = "interrupted") {
    super(message);
    this.name = "Interrupted";
    this.signal = signal;
  }

  /** The exit code that tells a shell which signal stopped the command. */
  get exitCode(): number {
    return this.signal === "SIGTERM" ? 143 : 130;
  }
}

/**
 * A signal for commands that hold something to clean up (a half-written
 * file, connections in flight): it aborts with an {@linkcode Interrupted} on
 * the first Ctrl-C or SIGTERM, and the command undoes what it must before it
 * exits. A second one exits at once. Dispose it to restore the default.
 */
export function interruption(): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  const listening = onTerminate((signal, count) => {
    if (count > 1) Deno.exit(new Interrupted(signal).exitCode);
    controller.abort(new Interrupted(signal));
  });
  return {
    signal: controller.signal,
    [Symbol.dispose]: () => listening[Symbol.dispose](),
  };
}

/**
 * Yields the lines of a byte stream such as `Deno.stdin.readable`, without
 * their line endings. Aborting `signal` ends the lines at once, even while a
 * read is waiting: an async generator's `return()` would wait for that read.
 */
export async function* readLines(
  readable: ReadableStream<Uint8Array>,
  { signal }: { signal?: AbortSignal } = {},
): AsyncGenerator<string, void, void> {
  const reader = readable.pipeThrough(new TextDecoderStream()).getReader();
  const cancel = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  if (signal?.aborted) cancel();
  let pending = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      let newline;
      while ((newline = pending.indexOf("\n")) !== -1) {
        yield pending.slice(0, newline).replace(/\r$/, "");
        pending = pending.slice(newline + 1);
      }
    }
    if (pending !== "" && !signal?.aborted) yield pending.replace(/\r$/, "");
  } finally {
    signal?.removeEventListener("abort", cancel);
    await cancel();
    reader.releaseLock();
  }
}
