// Copyright 2026 the tcp authors. MIT license.
// The request side of fetchToFile: which URLs it takes, which caller fields
// it accepts, and the bytes of the GET it sends (RFC 9112, section 3).
// Errors say what was wrong and nothing more: fetchToFile names the URL.

import { VERSION } from "./_version.ts";
import { isToken, NOT_FIELD_VALUE, quote } from "./_http_syntax.ts";

/** The `User-Agent` sent unless the caller gives one. */
export const USER_AGENT = `netkit-tcp/${VERSION}`;

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

/**
 * Parses the URL to download, without its fragment.
 *
 * @throws {TypeError} If it is invalid, not `http:` or `https:`, or carries
 * credentials.
 */
export function parseUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new TypeError("invalid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError("only http: and https: URLs are supported");
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(
      'credentials in the URL are not supported, pass an "Authorization" header instead',
    );
  }
  url.hash = "";
  return url;
}

/** The scheme, host and port: what a credential is bound to. */
export function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * Validates the caller's fields, as name and value pairs with the value
 * trimmed.
 *
 * @throws {TypeError} If a name is not a token, a value holds a character no
 * field value may (CR, LF and NUL would let it end the field or the head
 * early and inject fields of its own), or a field is one fetchToFile sets.
 */
export function checkHeaders(
  init: HeadersInit | undefined,
): [string, string][] {
  if (init === undefined) return [];
  const entries: [string, string][] = [];
  const pairs = Symbol.iterator in init
    ? [...(init as Iterable<string[]>)]
    : Object.entries(init);
  for (const pair of pairs) {
    if (pair.length !== 2) {
      throw new TypeError("a header must be a name and a value");
    }
    const name = String(pair[0]);
    const value = String(pair[1]);
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value)) {
      throw new TypeError(`header ${quote(name)} contains CR, LF or NUL`);
    }
    if (!isToken(name)) {
      throw new TypeError(`invalid header name ${quote(name)}`);
    }
    // Other control characters and anything beyond Latin-1 cannot be sent
    // as field bytes either.
    if (NOT_FIELD_VALUE.test(value)) {
      throw new TypeError(
        `header ${quote(name)} has an invalid value ${quote(value)}`,
      );
    }
    if (RESERVED.has(name.toLowerCase())) {
      throw new TypeError(`header ${quote(name)} is set by fetchToFile itself`);
    }
    entries.push([name, value.trim()]);
  }
  return entries;
}

/**
 * The bytes of a GET for `url` on a connection of its own: our fields, then
 * `own` (such as a range), then the caller's, which may replace
 * `User-Agent`, `Accept` and `Accept-Encoding`.
 */
export function encodeRequest(
  url: URL,
  own: [string, string][],
  caller: [string, string][],
): Uint8Array {
  const given = new Set(caller.map(([name]) => name.toLowerCase()));
  let head =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  if (!given.has("user-agent")) head += `User-Agent: ${USER_AGENT}\r\n`;
  if (!given.has("accept")) head += "Accept: */*\r\n";
  // Content codings would be saved undecoded: ask for the bytes as they are.
  if (!given.has("accept-encoding")) head += "Accept-Encoding: identity\r\n";
  head += "Connection: close\r\n";
  for (const [name, value] of [...own, ...caller]) {
    head += `${name}: ${value}\r\n`;
  }
  head += "\r\n";
  // Latin-1, byte for byte: values were checked to fit.
  const bytes = new Uint8Array(head.length);
  for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i);
  return bytes;
}
