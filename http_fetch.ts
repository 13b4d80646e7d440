// Copyright 2026 the tcp authors. MIT license.
/**
 * {@linkcode fetchToFile}: download a URL to a file over HTTP/1.1, spoken
 * directly over TCP or TLS rather than through the built-in `fetch`. The
 * response is parsed strictly, the file appears atomically and only when
 * complete, memory stays flat whatever the size, and an interrupted download
 * can be resumed.
 *
 * ```ts
 * import { TcpServer } from "@netkit/tcp";
 * import { fetchToFile } from "@netkit/tcp/http-fetch";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   await conn.readUntil("\r\n\r\n");
 *   await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
 * });
 * const dir = await Deno.makeTempDir();
 * try {
 *   const url = `http://127.0.0.1:${server.addr.port}/hello.txt`;
 *   const result = await fetchToFile(url, `${dir}/hello.txt`);
 *   assert.equal(result.status, 200);
 *   assert.equal(await Deno.readTextFile(`${dir}/hello.txt`), "hello\n");
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 *   await server.shutdown();
 *   await serving;
 * }
 * ```
 *
 * It is also a command:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write jsr:@netkit/tcp/http-fetch https://example.com/ -o page.html
 * ```
 *
 * @module
 */

import { TcpClient } from "./client.ts";
import { LimitExceededError, type TcpConnection } from "./connection.ts";
import { describeError } from "./_errors.ts";
import { Deadlines } from "./_deadlines.ts";
import { VERSION } from "./_version.ts";
import {
  copyBody,
  framingOf,
  quote,
  readHead,
  type ResponseHead,
  singleValue,
} from "./_http_response.ts";

const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_IDLE_TIMEOUT = 60_000;
const DEFAULT_MAX_REDIRECTS = 10;
/** Interim (1xx) responses skipped before the real one; more is a flood. */
const MAX_INTERIM = 10;
const PROGRESS_INTERVAL = 100;
const USER_AGENT = `netkit-tcp/${VERSION}`;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Request fields that fetchToFile owns: framing, connection, ranges. */
const RESERVED = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "keep-alive",
  "proxy-connection",
  "expect",
  "range",
  "if-range",
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** How far a download has come, as {@linkcode FetchToFileOptions.onProgress} sees it. */
export interface FetchProgress {
  /** Bytes of the file so far, including any resumed from an earlier attempt. */
  received: number;
  /** The size of the whole file, when the server said. */
  total: number | undefined;
}

/** Options for {@linkcode fetchToFile}. */
export interface FetchToFileOptions {
  /** Aborting it cancels the download; the promise rejects with its reason. */
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
   * @default {{}}
   */
  headers?: HeadersInit;
  /**
   * Called as body bytes arrive, at most every 100 ms, and once at the end.
   * If it throws, the download fails with that error.
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
  /** The protocol of the final response: `"HTTP/1.1"` or `"HTTP/1.0"`. */
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
 * @throws {Error} If a redirect is refused or there are too many.
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
  options: FetchToFileOptions = {},
): Promise<FetchToFileResult> {
  const start = parseUrl(url);
  const where = `Cannot download "${start.href}"`;
  const settings = checkOptions(options, where);
  const headers = checkHeaders(options.headers, where);
  if (typeof path !== "string" || path === "" || /[/\\]$/.test(path)) {
    throw new TypeError(
      `${where}: the path must name a file, received ${JSON.stringify(path)}`,
    );
  }
  options.signal?.throwIfAborted();
  const output = new Output(path, settings.resume, settings.overwrite);
  try {
    await output.loadPartial(start.href);
    return await download(start, output, headers, settings, options);
  } catch (error) {
    await output.abandon();
    throw error;
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

function parseUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new TypeError(`Cannot download ${quote(String(input))}: invalid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot download "${url.href}": only http: and https: URLs are supported`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(
      `Cannot download "${url.href}": credentials in the URL are not supported, pass an "Authorization" header instead`,
    );
  }
  url.hash = "";
  return url;
}

function checkOptions(options: FetchToFileOptions, where: string): Settings {
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
        `${where}: "${name}" must be a positive number, received ${value}`,
      );
    }
    return value;
  };
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0) {
    throw new RangeError(
      `${where}: "maxRedirects" must be a non-negative integer, received ${maxRedirects}`,
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

/**
 * Validates caller fields. CR, LF and NUL would let a value end the field or
 * the head early and inject fields of its own (RFC 9110, section 5.5).
 */
function checkHeaders(
  init: HeadersInit | undefined,
  where: string,
): [string, string][] {
  if (init === undefined) return [];
  const entries: [string, string][] = [];
  const pairs = Symbol.iterator in init
    ? [...(init as Iterable<string[]>)]
    : Object.entries(init);
  for (const pair of pairs) {
    if (pair.length !== 2) {
      throw new TypeError(`${where}: a header must be a name and a value`);
    }
    const name = String(pair[0]);
    const value = String(pair[1]);
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value)) {
      throw new TypeError(
        `${where}: header ${quote(name)} contains CR, LF or NUL`,
      );
    }
    if (!TOKEN.test(name)) {
      throw new TypeError(`${where}: invalid header name ${quote(name)}`);
    }
    // Other control characters and anything beyond Latin-1 cannot be sent
    // as field bytes either.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
      throw new TypeError(
        `${where}: header ${quote(name)} has an invalid value ${quote(value)}`,
      );
    }
    if (RESERVED.has(name.toLowerCase())) {
      throw new TypeError(
        `${where}: header ${quote(name)} is set by fetchToFile itself`,
      );
    }
    entries.push([name, value.trim()]);
  }
  return entries;
}

/** The scheme, host and port: what a credential is bound to. */
function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function encodeRequest(
  url: URL,
  headers: [string, string][],
  range: PartialDownload | undefined,
): Uint8Array {
  const own = new Set(headers.map(([name]) => name.toLowerCase()));
  let head =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  if (!own.has("user-agent")) head += `User-Agent: ${USER_AGENT}\r\n`;
  if (!own.has("accept")) head += "Accept: */*\r\n";
  // Content codings would be saved undecoded: ask for the bytes as they are.
  if (!own.has("accept-encoding")) head += "Accept-Encoding: identity\r\n";
  head += "Connection: close\r\n";
  if (range) {
    head +=
      `Range: bytes=${range.size}-\r\nIf-Range: ${range.meta.validator}\r\n`;
  }
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += "\r\n";
  // Latin-1, byte for byte: values were checked to fit.
  const bytes = new Uint8Array(head.length);
  for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i);
  return bytes;
}

/** Reads the final response head, skipping a bounded number of 1xx ones. */
async function readFinalHead(
  conn: TcpConnection,
  where: string,
): Promise<ResponseHead> {
  for (let interim = 0;; interim++) {
    const head = await readHead(conn, where);
    if (head.status >= 200) return head;
    if (head.status === 101) {
      throw new Deno.errors.InvalidData(
        `${where}: the server switched protocols, which was not asked for`,
      );
    }
    if (interim === MAX_INTERIM) {
      throw new LimitExceededError(
        `${where}: more than ${MAX_INTERIM} interim (1xx) responses`,
        MAX_INTERIM,
      );
    }
  }
}

function toHeaders(head: ResponseHead): Headers {
  const headers = new Headers();
  for (const [name, value] of head.fields) {
    try {
      headers.append(name, value);
    } catch {
      // A value the Headers class refuses is dropped, not fatal: framing
      // was decided from the raw fields already.
    }
  }
  return headers;
}

/** The first value of a field, or undefined if absent or inconsistent. */
function lenientValue(head: ResponseHead, name: string): string | undefined {
  let found: string | undefined;
  for (const [key, value] of head.fields) {
    if (key !== name) continue;
    if (found !== undefined && found !== value) return undefined;
    found = value;
  }
  return found;
}

/**
 * A validator If-Range may carry (RFC 9110, section 13.1.5): a strong ETag,
 * or else a Last-Modified at least a second older than the response's Date.
 */
function validatorOf(head: ResponseHead): string | undefined {
  const etag = lenientValue(head, "etag");
  if (etag !== undefined && /^"[\x21\x23-\x7e\x80-\xff]*"$/.test(etag)) {
    return etag;
  }
  const modified = lenientValue(head, "last-modified");
  const date = lenientValue(head, "date");
  if (modified === undefined || date === undefined) return undefined;
  const difference = Date.parse(date) - Date.parse(modified);
  return difference >= 1000 ? modified : undefined;
}

const CONTENT_RANGE = /^bytes ([0-9]{1,15})-([0-9]{1,15})\/([0-9]{1,15}|\*)$/;

/** Checks a 206 against the range asked for; returns the size of the file. */
function checkContentRange(
  head: ResponseHead,
  range: PartialDownload,
  where: string,
): { length: number; total: number | undefined } {
  const value = singleValue(head, "content-range", where);
  const match = value === undefined ? null : CONTENT_RANGE.exec(value);
  const wrong = (why: string) =>
    new Deno.errors.InvalidData(
      `${where}: wrong "Content-Range" ${quote(value ?? "")}: ${why}`,
    );
  if (match === null) throw wrong(`expected "bytes ${range.size}-…/…"`);
  const first = Number(match[1]);
  const last = Number(match[2]);
  const total = match[3] === "*" ? undefined : Number(match[3]);
  if (first !== range.size) {
    throw wrong(`asked for the bytes from ${range.size}`);
  }
  if (last < first || (total !== undefined && last + 1 !== total)) {
    throw wrong("the range does not run to the end of the file");
  }
  if (
    total !== undefined && range.meta.total !== undefined &&
    total !== range.meta.total
  ) {
    throw wrong(`the file was ${range.meta.total} bytes before`);
  }
  const etag = lenientValue(head, "etag");
  if (
    range.meta.validator.startsWith('"') && etag !== undefined &&
    etag !== range.meta.validator
  ) {
    throw new Deno.errors.InvalidData(
      `${where}: the server sent part of ${
        quote(etag)
      } for "If-Range: ${range.meta.validator}"`,
    );
  }
  return { length: last - first + 1, total };
}

async function download(
  start: URL,
  output: Output,
  callerHeaders: [string, string][],
  settings: Settings,
  options: FetchToFileOptions,
): Promise<FetchToFileResult> {
  const { signal, onProgress } = options;
  let url = start;
  let headers = callerHeaders;
  let redirects = 0;
  for (;;) {
    const where = `Cannot download "${url.href}"`;
    const range = output.partial;
    const conn = await connect(url, settings.timeout, signal, options, where);
    // Idle and abort both close the connection, which makes a pending read
    // return the end of stream: `reason` says why, and replaces whatever
    // error that end of stream caused.
    let reason: unknown;
    let callbackError: unknown;
    const stop = (why: unknown) => {
      if (reason !== undefined) return;
      reason = why;
      conn.close();
    };
    // The request is written at once, so from then on progress is bytes
    // from the server.
    const watcher = new Deadlines<TcpClient>({
      idleTimeout: settings.idleTimeout,
      onIdle: () =>
        stop(
          new Deno.errors.TimedOut(
            `${where}: the server sent nothing for ${settings.idleTimeout} ms`,
          ),
        ),
    });
    watcher.add(conn);
    const onAbort = () => stop(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      await conn.write(encodeRequest(url, headers, range));
      const head = await readFinalHead(conn, where);
      const { status } = head;
      const location = REDIRECTS.has(status)
        ? singleValue(head, "location", where)
        : undefined;
      if (location !== undefined) {
        const next = redirectTarget(url, location, where);
        if (redirects === settings.maxRedirects) {
          throw new Error(
            `${where}: too many redirects (the limit is ${settings.maxRedirects}), the next to "${next.href}"`,
          );
        }
        if (originOf(next) !== originOf(url)) headers = [];
        redirects++;
        url = next;
        continue;
      }
      if (status === 416 && range !== undefined) {
        // The partial file no longer fits the resource: start over.
        await output.discardPartial();
        continue;
      }
      if (status < 200 || status > 299) {
        throw new HttpError(
          `${where}: the server answered ${status}${
            head.statusText ? ` ${head.statusText}` : ""
          }`,
          {
            status,
            statusText: head.statusText,
            url: url.href,
            headers: toHeaders(head),
          },
        );
      }
      const framing = framingOf(head, where);
      let offset = 0;
      let expected: number | undefined;
      let total: number | undefined;
      if (status === 206) {
        if (range === undefined) {
          throw new Deno.errors.InvalidData(
            `${where}: the server sent a partial response (206) that was not asked for`,
          );
        }
        const checked = checkContentRange(head, range, where);
        offset = range.size;
        expected = checked.length;
        total = offset + checked.length;
        if (framing.kind === "length" && framing.length !== expected) {
          throw new Deno.errors.InvalidData(
            `${where}: "Content-Length: ${framing.length}" does not match "Content-Range" for ${expected} bytes`,
          );
        }
      } else {
        total = framing.kind === "length"
          ? framing.length
          : framing.kind === "none"
          ? 0
          : undefined;
      }
      if (total !== undefined && total > settings.maxBytes) {
        throw new LimitExceededError(
          `${where}: the file is ${total} bytes, more than maxBytes (${settings.maxBytes})`,
          settings.maxBytes,
        );
      }
      const file = await output.open(offset > 0, {
        url: output.url,
        validator: validatorOf(head),
        total,
      }, where);
      let received = offset;
      let reported = 0;
      const report = (progress: FetchProgress) => {
        try {
          onProgress!(progress);
        } catch (error) {
          callbackError = error;
          throw error;
        }
      };
      const { maxBytes } = settings;
      const sink = async (chunk: Uint8Array): Promise<void> => {
        received += chunk.length;
        if (received > maxBytes) {
          throw new LimitExceededError(
            `${where}: the file is larger than maxBytes (${maxBytes})`,
            maxBytes,
          );
        }
        // FsFile.write may write only part of the chunk.
        let n = await file.write(chunk);
        while (n < chunk.length) n += await file.write(chunk.subarray(n));
        if (onProgress !== undefined) {
          const now = Date.now();
          if (now - reported >= PROGRESS_INTERVAL) {
            reported = now;
            report({ received, total });
          }
        }
      };
      const written = await copyBody(conn, framing, sink, where);
      if (reason !== undefined) throw reason;
      if (expected !== undefined && written !== expected) {
        throw new Deno.errors.UnexpectedEof(
          `${where}: the partial body has ${written} bytes, "Content-Range" announced ${expected}`,
        );
      }
      if (onProgress) report({ received, total: total ?? received });
      // An abort from within that last report still counts.
      if (reason !== undefined) throw reason;
      watcher.delete(conn);
      conn.close();
      await output.commit(where);
      return {
        url: url.href,
        status,
        statusText: head.statusText,
        version: head.version,
        headers: toHeaders(head),
        path: output.path,
        bytesWritten: written,
        resumedFrom: offset,
      };
    } catch (error) {
      const cause = reason ?? error;
      if (
        cause === signal?.reason || cause === callbackError ||
        (cause instanceof Error && cause.message.startsWith("Cannot download "))
      ) {
        throw cause;
      }
      throw describeError(cause, where);
    } finally {
      watcher.delete(conn);
      signal?.removeEventListener("abort", onAbort);
      conn.close();
    }
  }
}

/**
 * Connects to the host of `url`, with TLS for `https:`. Errors name the URL
 * (`where`) and keep their class; an abort rejects with the signal's reason.
 */
async function connect(
  url: URL,
  timeout: number,
  signal: AbortSignal | undefined,
  options: FetchToFileOptions,
  where: string,
): Promise<TcpClient> {
  const https = url.protocol === "https:";
  try {
    return await TcpClient.connect({
      // An IPv6 address comes in brackets.
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port === "" ? (https ? 443 : 80) : Number(url.port),
      timeout,
      signal,
      tls: https ? { caCerts: options.caCerts } : undefined,
    });
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    throw describeError(error, where);
  }
}

function redirectTarget(current: URL, location: string, where: string): URL {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new Deno.errors.InvalidData(
      `${where}: malformed "Location" ${quote(location)}`,
    );
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw new Error(
      `${where}: refusing to follow a redirect to ${
        quote(next.href)
      }: only http: and https: are allowed`,
    );
  }
  if (current.protocol === "https:" && next.protocol === "http:") {
    throw new Error(
      `${where}: refusing to follow a redirect from HTTPS to HTTP "${next.href}"`,
    );
  }
  if (next.username !== "" || next.password !== "") {
    throw new Error(
      `${where}: refusing to follow a redirect to a URL with credentials`,
    );
  }
  next.hash = "";
  return next;
}

/** What `<path>.part.json` records about `<path>.part`. */
interface PartMeta {
  url: string;
  validator: string | undefined;
  total: number | undefined;
}

/** A partial download that can be continued. */
interface PartialDownload {
  size: number;
  meta: PartMeta & { validator: string };
}

/**
 * The file side of a download: a temporary file (or with `resume`, the
 * partial file) that becomes `path` only once complete.
 */
class Output {
  readonly path: string;
  url = "";
  partial: PartialDownload | undefined;
  #resume: boolean;
  #overwrite: boolean;
  #part: string;
  #meta: string;
  #file: Deno.FsFile | undefined;
  #writing: string | undefined;
  #keep = false;

  constructor(path: string, resume: boolean, overwrite: boolean) {
    this.path = path;
    this.#resume = resume;
    this.#overwrite = overwrite;
    this.#part = `${path}.part`;
    this.#meta = `${path}.part.json`;
  }

  /** With `resume`, finds a partial download of `url` to continue. */
  async loadPartial(url: string): Promise<void> {
    this.url = url;
    if (!this.#resume) return;
    let meta: PartMeta | undefined;
    let size = 0;
    try {
      meta = JSON.parse(await Deno.readTextFile(this.#meta));
      size = (await Deno.stat(this.#part)).size;
    } catch (error) {
      if (
        !(error instanceof Deno.errors.NotFound || error instanceof SyntaxError)
      ) {
        throw describeError(error, `Cannot download "${url}": cannot resume`);
      }
    }
    if (
      meta?.url === url && typeof meta.validator === "string" && size > 0 &&
      (meta.total === undefined || typeof meta.total === "number")
    ) {
      this.partial = { size, meta: meta as PartialDownload["meta"] };
    } else {
      await this.discardPartial();
    }
  }

  async discardPartial(): Promise<void> {
    this.partial = undefined;
    if (this.#resume) await removeQuietly(this.#part, this.#meta);
  }

  /**
   * Opens the file the body goes to: the partial file to append to, or a new
   * one.
   */
  async open(
    append: boolean,
    meta: PartMeta,
    where: string,
  ): Promise<Deno.FsFile> {
    try {
      if (!this.#resume) {
        const random = Array.from(
          crypto.getRandomValues(new Uint8Array(6)),
          (byte) => byte.toString(16).padStart(2, "0"),
        ).join("");
        const slash = Math.max(
          this.path.lastIndexOf("/"),
          Deno.build.os === "windows" ? this.path.lastIndexOf("\\") : -1,
        );
        const dir = this.path.slice(0, slash + 1);
        const base = this.path.slice(slash + 1);
        this.#writing = `${dir}.${base}.${random}.tmp`;
        this.#file = await Deno.open(this.#writing, {
          write: true,
          createNew: true,
        });
        return this.#file;
      }
      this.#writing = this.#part;
      if (append) {
        this.#keep = true;
        this.#file = await Deno.open(this.#part, { write: true, append: true });
        // Something else may have touched it since loadPartial.
        const { size } = await this.#file.stat();
        if (size !== this.partial!.size) {
          throw new Error(`"${this.#part}" changed while resuming`);
        }
        return this.#file;
      }
      this.partial = undefined;
      // Without a validator the partial file could not be matched to the
      // resource next time, so it is worth nothing after a failure.
      if (meta.validator === undefined) {
        await removeQuietly(this.#meta);
      } else {
        await Deno.writeTextFile(this.#meta, JSON.stringify(meta));
      }
      this.#keep = meta.validator !== undefined;
      this.#file = await Deno.open(this.#part, {
        write: true,
        create: true,
        truncate: true,
      });
      return this.#file;
    } catch (error) {
      throw describeError(error, `${where}: cannot save "${this.path}"`);
    }
  }

  /** Makes the finished file durable and puts it at `path`. */
  async commit(where: string): Promise<void> {
    const file = this.#file!;
    const from = this.#writing!;
    try {
      await file.syncData();
      this.#file = undefined;
      file.close();
      await place(from, this.path, this.#overwrite);
      this.#writing = undefined;
      if (this.#resume) await removeQuietly(this.#meta);
    } catch (error) {
      throw describeError(error, `${where}: cannot save "${this.path}"`);
    }
  }

  /** After a failure: closes the file and removes it unless it is kept. */
  async abandon(): Promise<void> {
    try {
      this.#file?.close();
    } catch {
      // Already closed.
    }
    this.#file = undefined;
    if (this.#writing !== undefined && !this.#keep) {
      await removeQuietly(this.#writing);
      if (this.#resume) await removeQuietly(this.#meta);
    }
    this.#writing = undefined;
  }
}

/** Moves `from` to `to`; without `overwrite`, never over an existing file. */
async function place(
  from: string,
  to: string,
  overwrite: boolean,
): Promise<void> {
  if (overwrite) return await Deno.rename(from, to);
  try {
    // A hard link fails if `to` exists, atomically, where a check followed
    // by a rename would race with whoever creates `to` in between.
    await Deno.link(from, to);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      // No hard links on this file system: a check is the best left.
      try {
        await Deno.lstat(to);
      } catch (statError) {
        if (statError instanceof Deno.errors.NotFound) {
          return await Deno.rename(from, to);
        }
        throw error;
      }
    }
    throw new Deno.errors.AlreadyExists("the file already exists");
  }
  await Deno.remove(from);
}

async function removeQuietly(...paths: string[]): Promise<void> {
  for (const path of paths) {
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

if (import.meta.main) {
  // Not awaited at the top level: the CLI imports this module, which must
  // have finished evaluating by then.
  import("./_http_fetch_cli.ts").then(({ main }) => main(Deno.args)).then(
    (code) => Deno.exit(code),
  );
}
