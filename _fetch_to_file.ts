// Copyright 2026 the tcp authors. MIT license.
// fetchToFile itself: it checks its arguments, follows redirects, and runs
// one exchange per URL on a connection of its own, handing the pieces to
// the request, response, body, range and file modules. Those throw errors
// that say only what went wrong; fetchToFile adds where, once:
// `Cannot download "URL": ...`.

import { TcpClient } from "./client.ts";
import { LimitExceededError, type TcpConnection } from "./connection.ts";
import { describeError } from "./_errors.ts";
import { FileOutput } from "./_file_output.ts";
import { Deadlines } from "./_deadlines.ts";
import { copyBody } from "./_http_body.ts";
import {
  type Extent,
  extentOf,
  rangeFields,
  validatorOf,
} from "./_http_range.ts";
import {
  checkHeaders,
  encodeRequest,
  originOf,
  parseUrl,
} from "./_http_request.ts";
import {
  framingOf,
  lineReader,
  readFinalHead,
  type ResponseHead,
  singleValue,
  toHeaders,
} from "./_http_response.ts";
import { quote } from "./_http_syntax.ts";

const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_IDLE_TIMEOUT = 60_000;
const DEFAULT_MAX_REDIRECTS = 10;
const PROGRESS_INTERVAL = 100;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** How far a download has come, as {@linkcode FetchToFileOptions.onProgress} sees it. */
export interface FetchProgress {
  /** Bytes of the file so far, including any resumed from an earlier attempt. */
  received: number;
  /** The size of the whole file, when the server said. */
  total: number | undefined;
}

/** Options for {@linkcode fetchToFile}. */
export interface FetchToFileOptions {
  /**
   * Aborting it cancels the download; the promise rejects with its reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * How long connecting (including the TLS handshake) may take, in
   * milliseconds.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * How long the server may send nothing, in milliseconds, while the
   * response is awaited or received, before the download fails.
   *
   * @default {60000}
   */
  idleTimeout?: number;
  /**
   * The largest file accepted, in bytes. A larger one fails as soon as that
   * is known, at the latest once that many bytes have arrived.
   *
   * @default {Infinity}
   */
  maxBytes?: number;
  /**
   * How many redirects (301, 302, 303, 307, 308) to follow. 0 follows none.
   *
   * @default {10}
   */
  maxRedirects?: number;
  /**
   * Extra request fields, such as `Authorization`. They go only to the
   * origin (scheme, host and port) of `url`: a redirect elsewhere drops all of
   * them. They may replace `User-Agent`, `Accept` and `Accept-Encoding`.
   *
   * @default {undefined} (no extra fields)
   */
  headers?: HeadersInit;
  /**
   * Called as body bytes reach the file, at most every 100 ms, and once at
   * the end. Bytes are written (and counted) in pieces of 512 KiB or more,
   * and bytes that arrive slower than that 50 ms after they arrive at the
   * latest (later only if the file write before them is still running), so
   * a slow server's progress is still seen. If it throws, the download
   * fails with that error, unchanged.
   *
   * @default {undefined}
   */
  onProgress?: (progress: FetchProgress) => void;
  /**
   * Whether to keep a failed download for later, and to continue one. The
   * partial file is `<path>.part`, with what the server said about it in
   * `<path>.part.json`; the next call continues it with `Range` and
   * `If-Range`. A server that ignores the range or whose file has changed
   * sends it all again, which restarts the download. Only a response with a
   * strong `ETag` or a reliable `Last-Modified` can be resumed.
   *
   * @default {false}
   */
  resume?: boolean;
  /**
   * Whether an existing file at `path` may be replaced. With `false`, the
   * download fails with {@linkcode Deno.errors.AlreadyExists} rather than
   * replace one, even one that appeared while it ran.
   *
   * @default {true}
   */
  overwrite?: boolean;
  /**
   * PEM certificates to trust for `https:` in addition to the system's, such
   * as a self-signed certificate for tests.
   *
   * @default {undefined}
   */
  caCerts?: string[];
}

/** What {@linkcode fetchToFile} downloaded. */
export interface FetchToFileResult {
  /** The URL the file came from, after redirects. */
  url: string;
  /** The final status: 200, or 206 for a resumed download, or another 2xx. */
  status: number;
  /** The reason phrase of the final status line, such as `"OK"`. */
  statusText: string;
  /**
   * The protocol of the final response: `"HTTP/1.1"` (also for a later
   * HTTP/1.x, which is read as 1.1) or `"HTTP/1.0"`.
   */
  version: string;
  /** The header fields of the final response. */
  headers: Headers;
  /** Where the file was saved: the `path` given. */
  path: string;
  /** Body bytes written by this call. */
  bytesWritten: number;
  /** Bytes kept from an earlier attempt (see `resume`); 0 if none. */
  resumedFrom: number;
}

/**
 * The server answered with a status that is not a success (after following
 * redirects), such as 404. Nothing was saved.
 *
 * @example Telling a missing file from other failures
 * ```ts
 * import { TcpServer } from "@netkit/tcp";
 * import { fetchToFile, HttpError } from "@netkit/tcp/http-fetch";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   await conn.readUntil("\r\n\r\n");
 *   await conn.write("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNot here\n");
 * });
 * const dir = await Deno.makeTempDir();
 * try {
 *   const url = `http://127.0.0.1:${server.addr.port}/missing`;
 *   const error = await fetchToFile(url, `${dir}/missing`).catch((e) => e);
 *   assert.ok(error instanceof HttpError);
 *   assert.equal(error.status, 404);
 *   assert.deepEqual([...Deno.readDirSync(dir)], []);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 *   await server.shutdown();
 *   await serving;
 * }
 * ```
 */
export class HttpError extends Error {
  /** The status code, such as 404. */
  readonly status: number;
  /** The reason phrase, such as `"Not Found"`. */
  readonly statusText: string;
  /** The URL that answered with it. */
  readonly url: string;
  /** The header fields of the response. */
  readonly headers: Headers;

  /**
   * Makes an error for a response with status `response.status`.
   *
   * @param message What failed.
   * @param response The status, reason phrase, URL and fields.
   */
  constructor(
    message: string,
    response: {
      status: number;
      statusText: string;
      url: string;
      headers: Headers;
    },
  ) {
    super(message);
    this.name = "HttpError";
    this.status = response.status;
    this.statusText = response.statusText;
    this.url = response.url;
    this.headers = response.headers;
  }
}

/**
 * A redirect that {@linkcode fetchToFile} refused to follow: to a scheme
 * other than `http:` and `https:`, from HTTPS to HTTP, to a URL with
 * credentials, or one more than `maxRedirects` allows. Nothing was saved.
 *
 * @example Telling a refused redirect from other failures
 * ```ts
 * import { TcpServer } from "@netkit/tcp";
 * import { fetchToFile, RedirectError } from "@netkit/tcp/http-fetch";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   await conn.readUntil("\r\n\r\n");
 *   await conn.write("HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n\r\n");
 * });
 * const dir = await Deno.makeTempDir();
 * try {
 *   const url = `http://127.0.0.1:${server.addr.port}/start`;
 *   const error = await fetchToFile(url, `${dir}/file`).catch((e) => e);
 *   assert.ok(error instanceof RedirectError);
 *   assert.equal(error.url, url);
 *   assert.equal(error.location, "file:///etc/passwd");
 *   assert.deepEqual([...Deno.readDirSync(dir)], []);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 *   await server.shutdown();
 *   await serving;
 * }
 * ```
 */
export class RedirectError extends Error {
  /** The URL that answered with the redirect. */
  readonly url: string;
  /** Where the redirect pointed, resolved against `url`. */
  readonly location: string;

  /**
   * Makes an error for a redirect from `redirect.url` to
   * `redirect.location`.
   *
   * @param message Why it was refused.
   * @param redirect The URL that redirected, and where to.
   */
  constructor(message: string, redirect: { url: string; location: string }) {
    super(message);
    this.name = "RedirectError";
    this.url = redirect.url;
    this.location = redirect.location;
  }
}

/**
 * Downloads `url` to the file `path` with HTTP/1.1 over TCP (`http:`) or TLS
 * (`https:`), following redirects.
 *
 * The body is written to a temporary file beside `path`, synced, then renamed
 * over `path`, so `path` either keeps what it had or holds the whole new
 * file. On any failure nothing is left behind, except the partial download
 * when `resume` is set. The body goes straight from the socket to the file in
 * large pieces, so memory use does not grow with its size.
 *
 * @param url An `http:` or `https:` URL.
 * @param path Where to save the body.
 * @param options Limits, timeouts, extra fields, progress and resumption.
 * @returns What was downloaded.
 * @throws {TypeError} If `url` is not an `http:` or `https:` URL, or a header
 * is invalid (for instance contains CR, LF or NUL).
 * @throws {RangeError} If an option is out of range.
 * @throws {HttpError} If the final status is not a 2xx one.
 * @throws {Deno.errors.InvalidData} If the response is malformed.
 * @throws {Deno.errors.UnexpectedEof} If the response ends early.
 * @throws {LimitExceededError} If the head or the body is too large, or
 * interim responses never end.
 * @throws {Deno.errors.TimedOut} If connecting or the server is too slow.
 * @throws {Deno.errors.AlreadyExists} If `overwrite` is `false` and `path`
 * exists.
 * @throws {RedirectError} If a redirect is refused or there are too many.
 *
 * @example Downloading with a progress callback
 * ```ts
 * import { TcpServer } from "@netkit/tcp";
 * import { type FetchProgress, fetchToFile } from "@netkit/tcp/http-fetch";
 * import assert from "node:assert/strict";
 *
 * const body = new Uint8Array(100_000).fill(42);
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   await conn.readUntil("\r\n\r\n");
 *   await conn.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
 *   await conn.write(body);
 * });
 * const dir = await Deno.makeTempDir();
 * try {
 *   const seen: FetchProgress[] = [];
 *   const result = await fetchToFile(
 *     `http://127.0.0.1:${server.addr.port}/data.bin`,
 *     `${dir}/data.bin`,
 *     { onProgress: (progress) => seen.push(progress), maxBytes: 1_000_000 },
 *   );
 *   assert.equal(result.bytesWritten, body.length);
 *   assert.deepEqual(seen.at(-1), { received: body.length, total: body.length });
 *   assert.deepEqual(await Deno.readFile(`${dir}/data.bin`), body);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 *   await server.shutdown();
 *   await serving;
 * }
 * ```
 */
export async function fetchToFile(
  url: string | URL,
  path: string,
  options?: FetchToFileOptions,
): Promise<FetchToFileResult> {
  const download = new Download(url, options ?? {});
  try {
    return await download.run(path);
  } catch (error) {
    throw download.inContext(error);
  }
}

interface Settings {
  timeout: number;
  idleTimeout: number;
  maxBytes: number;
  maxRedirects: number;
  resume: boolean;
  overwrite: boolean;
}

/** What one exchange came to: a file, a redirect, or a fresh start (416). */
type Outcome =
  | { result: FetchToFileResult }
  | { location: string }
  | { restart: true };

/** One call of fetchToFile: its settings, and the URL it has got to. */
class Download {
  #input: string | URL;
  #options: FetchToFileOptions;
  /** The URL being fetched, once the input is parsed: errors name it. */
  #url: URL | undefined;
  #settings: Settings | undefined;
  /** What onProgress threw: passed on unchanged. */
  #callbackError: { error: unknown } | undefined;

  constructor(input: string | URL, options: FetchToFileOptions) {
    this.#input = input;
    this.#options = options;
  }

  async run(path: string): Promise<FetchToFileResult> {
    const start = parseUrl(this.#input);
    this.#url = start;
    const settings = this.#settings = checkOptions(this.#options);
    const headers = checkHeaders(this.#options.headers);
    if (typeof path !== "string" || path === "" || /[/\\]$/.test(path)) {
      throw new TypeError(
        `the path must name a file, received ${JSON.stringify(path)}`,
      );
    }
    this.#options.signal?.throwIfAborted();
    const output = new FileOutput(path, settings);
    try {
      await output.loadPartial(start.href);
      return await this.#follow(start, headers, output);
    } catch (error) {
      await output.abandon();
      throw error;
    }
  }

  /**
   * Puts `Cannot download "URL"` in front of an error's message, keeping its
   * class. The signal's reason and what onProgress threw stay as they are.
   */
  inContext(error: unknown): unknown {
    const { signal } = this.#options;
    if (
      (signal?.aborted && error === signal.reason) ||
      (this.#callbackError !== undefined && error === this.#callbackError.error)
    ) {
      return error;
    }
    return describeError(
      error,
      this.#url === undefined
        ? `Cannot download ${quote(String(this.#input))}`
        : `Cannot download "${this.#url.href}"`,
    );
  }

  /** Runs exchanges until one saves the file, following redirects. */
  async #follow(
    start: URL,
    callerHeaders: [string, string][],
    output: FileOutput,
  ): Promise<FetchToFileResult> {
    const { maxRedirects } = this.#settings!;
    let headers = callerHeaders;
    for (let url = start, redirects = 0;;) {
      this.#url = url;
      const outcome = await this.#exchange(url, headers, output);
      if ("result" in outcome) return outcome.result;
      if ("restart" in outcome) continue;
      const next = redirectTarget(url, outcome.location);
      if (redirects === maxRedirects) {
        throw new RedirectError(
          `too many redirects (the limit is ${maxRedirects}), the next to "${next.href}"`,
          { url: url.href, location: next.href },
        );
      }
      // Caller fields (credentials among them) stay with their origin.
      if (originOf(next) !== originOf(url)) headers = [];
      redirects++;
      url = next;
    }
  }

  /** One request and its response, on a connection of its own. */
  async #exchange(
    url: URL,
    headers: [string, string][],
    output: FileOutput,
  ): Promise<Outcome> {
    const { signal, caCerts } = this.#options;
    const { timeout, idleTimeout } = this.#settings!;
    const conn = await connect(url, timeout, signal, caCerts);
    const guard = new Guard(conn, idleTimeout, signal);
    try {
      const partial = output.partial;
      // Written at once: from then on, progress is bytes from the server.
      await conn.write(encodeRequest(url, rangeFields(partial), headers));
      const head = await readFinalHead(lineReader(conn));
      const location = REDIRECTS.has(head.status)
        ? singleValue(head, "location")
        : undefined;
      if (location !== undefined) return { location };
      if (head.status === 416 && partial !== undefined) {
        // The partial file no longer fits the resource: start over.
        await output.discardPartial();
        return { restart: true };
      }
      if (head.status < 200 || head.status > 299) throw httpError(url, head);
      return { result: await this.#save(conn, guard, url, head, output) };
    } catch (error) {
      throw guard.reason ?? error;
    } finally {
      guard.end();
      conn.close();
    }
  }

  /** Saves the body of a 2xx response to `output` and puts it in place. */
  async #save(
    conn: TcpConnection,
    guard: Guard,
    url: URL,
    head: ResponseHead,
    output: FileOutput,
  ): Promise<FetchToFileResult> {
    const framing = framingOf(head);
    const extent = extentOf(head, framing, output.partial);
    const { maxBytes } = this.#settings!;
    if (extent.total !== undefined && extent.total > maxBytes) {
      throw new LimitExceededError(
        `the file is ${extent.total} bytes, more than maxBytes (${maxBytes})`,
        maxBytes,
      );
    }
    await output.open(extent.offset > 0, {
      validator: validatorOf(head),
      total: extent.total,
    });
    const progress = new Progress(extent, maxBytes, this.#reporter());
    const written = await copyBody(conn, framing, async (chunk) => {
      progress.count(chunk.length);
      await output.write(chunk);
      progress.tick();
    });
    // The guard closing the connection looks like the end of the body.
    guard.check();
    if (extent.length !== undefined && written !== extent.length) {
      throw new Deno.errors.UnexpectedEof(
        `the partial body has ${written} bytes, "Content-Range" announced ${extent.length}`,
      );
    }
    progress.finish();
    // An abort from within that last report still counts.
    guard.check();
    guard.end();
    conn.close();
    await output.commit();
    return {
      url: url.href,
      status: head.status,
      statusText: head.statusText,
      version: head.version,
      headers: toHeaders(head),
      path: output.path,
      bytesWritten: written,
      resumedFrom: extent.offset,
    };
  }

  /** onProgress, remembering what it throws; `undefined` without one. */
  #reporter(): ((progress: FetchProgress) => void) | undefined {
    const { onProgress } = this.#options;
    if (onProgress === undefined) return undefined;
    return (progress) => {
      try {
        onProgress(progress);
      } catch (error) {
        this.#callbackError = { error };
        throw error;
      }
    };
  }
}

function checkOptions(options: FetchToFileOptions): Settings {
  const positive = (
    name: string,
    value: number | undefined,
    fallback: number,
    finite = true,
  ) => {
    if (value === undefined) return fallback;
    if (
      !(typeof value === "number" && value > 0 &&
        (finite ? Number.isFinite(value) : !Number.isNaN(value)))
    ) {
      throw new RangeError(
        `"${name}" must be a positive number, received ${value}`,
      );
    }
    return value;
  };
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0) {
    throw new RangeError(
      `"maxRedirects" must be a non-negative integer, received ${maxRedirects}`,
    );
  }
  return {
    timeout: positive("timeout", options.timeout, DEFAULT_TIMEOUT),
    idleTimeout: positive(
      "idleTimeout",
      options.idleTimeout,
      DEFAULT_IDLE_TIMEOUT,
    ),
    maxBytes: positive("maxBytes", options.maxBytes, Infinity, false),
    maxRedirects,
    resume: options.resume ?? false,
    overwrite: options.overwrite ?? true,
  };
}

/** Connects to the host of `url`, with TLS for `https:`. */
function connect(
  url: URL,
  timeout: number,
  signal: AbortSignal | undefined,
  caCerts: string[] | undefined,
): Promise<TcpClient> {
  const https = url.protocol === "https:";
  return TcpClient.connect({
    // An IPv6 address comes in brackets.
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (https ? 443 : 80) : Number(url.port),
    timeout,
    signal,
    tls: https ? { caCerts } : undefined,
  });
}

/**
 * Ends an exchange early: when the server sends nothing for `idleTimeout` ms
 * or the signal aborts, it closes the connection, which makes a pending read
 * return the end of stream. `reason` says why, and replaces whatever error
 * that end of stream caused.
 */
class Guard {
  reason: unknown;
  #conn: TcpConnection;
  #watcher: Deadlines<TcpConnection>;
  #watched: Set<TcpConnection>;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.#stop(this.#signal!.reason);

  constructor(
    conn: TcpConnection,
    idleTimeout: number,
    signal: AbortSignal | undefined,
  ) {
    this.#conn = conn;
    this.#signal = signal;
    this.#watched = new Set([conn]);
    this.#watcher = new Deadlines(this.#watched, {
      idleTimeout,
      onIdle: () =>
        this.#stop(
          new Deno.errors.TimedOut(
            `the server sent nothing for ${idleTimeout} ms`,
          ),
        ),
    });
    this.#watcher.add(conn);
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (signal?.aborted) this.#onAbort();
  }

  /** Throws the reason the exchange was ended for, if it was. */
  check(): void {
    if (this.reason !== undefined) throw this.reason;
  }

  /** Stops watching. */
  end(): void {
    this.#watched.delete(this.#conn);
    this.#watcher.delete(this.#conn);
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  #stop(why: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = why;
    this.#conn.close();
  }
}

/**
 * Counts body bytes against maxBytes and reports them, at most every 100 ms
 * and once at the end.
 */
class Progress {
  #received: number;
  #total: number | undefined;
  #maxBytes: number;
  #report: ((progress: FetchProgress) => void) | undefined;
  #reported = 0;

  constructor(
    extent: Extent,
    maxBytes: number,
    report: ((progress: FetchProgress) => void) | undefined,
  ) {
    this.#received = extent.offset;
    this.#total = extent.total;
    this.#maxBytes = maxBytes;
    this.#report = report;
  }

  /** Counts `n` more bytes; throws if the file grows past maxBytes. */
  count(n: number): void {
    this.#received += n;
    if (this.#received > this.#maxBytes) {
      throw new LimitExceededError(
        `the file is larger than maxBytes (${this.#maxBytes})`,
        this.#maxBytes,
      );
    }
  }

  /** Reports, unless the last report was less than 100 ms ago. */
  tick(): void {
    if (this.#report === undefined) return;
    const now = Date.now();
    if (now - this.#reported < PROGRESS_INTERVAL) return;
    this.#reported = now;
    this.#report({ received: this.#received, total: this.#total });
  }

  /** Reports the end: the total is now known. */
  finish(): void {
    this.#report?.({
      received: this.#received,
      total: this.#total ?? this.#received,
    });
  }
}

function httpError(url: URL, head: ResponseHead): HttpError {
  const { status, statusText } = head;
  return new HttpError(
    `the server answered ${status}${statusText ? ` ${statusText}` : ""}`,
    { status, statusText, url: url.href, headers: toHeaders(head) },
  );
}

/**
 * Resolves a `Location` against the URL that sent it.
 *
 * @throws {Deno.errors.InvalidData} If it is malformed.
 * @throws {RedirectError} If it is not a redirect fetchToFile follows.
 */
function redirectTarget(current: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new Deno.errors.InvalidData(
      `malformed "Location" ${quote(location)}`,
    );
  }
  const refuse = (why: string) =>
    new RedirectError(`refusing to follow a redirect ${why}`, {
      url: current.href,
      location: next.href,
    });
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw refuse(`to ${quote(next.href)}: only http: and https: are allowed`);
  }
  if (current.protocol === "https:" && next.protocol === "http:") {
    throw refuse(`from HTTPS to HTTP "${next.href}"`);
  }
  if (next.username !== "" || next.password !== "") {
    throw refuse("to a URL with credentials");
  }
  next.hash = "";
  return next;
}
