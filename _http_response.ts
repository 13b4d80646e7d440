// Copyright 2026 the tcp authors. MIT license.
// A response head, read strictly per RFC 9112: the status line (section 4),
// the field lines (section 5), the interim responses before the final one
// (RFC 9110, section 15.2), and how the body is framed (section 6.3). The
// head is bounded in size and field count. Errors say what was wrong and
// nothing more: fetchToFile names the URL.

import type { TcpConnection } from "./connection.ts";
import {
  BufferedReader,
  IncompleteReadError,
  LimitExceededError,
} from "./_buffered_reader.ts";
import { decodeText, isToken, quote } from "./_http_syntax.ts";

/** The most bytes a response head (status line and fields) may take. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** The most field lines in a head or a trailer section. */
export const MAX_FIELDS = 100;
/** Interim (1xx) responses skipped before the real one; more is a flood. */
export const MAX_INTERIM = 10;
/**
 * `HTTP-version SP status-code [SP reason-phrase]`. The minor version is any
 * digit: RFC 9110, section 2.5 has a recipient process an `HTTP/1.x` above
 * the 1.1 it implements as 1.1. Another major version is not HTTP/1.
 */
const STATUS_LINE = /^HTTP\/1\.([0-9]) ([1-5][0-9]{2})(?: (.*))?$/;
const LF = new Uint8Array([0x0a]);

/** A parsed status line and header section. */
export interface ResponseHead {
  /** `HTTP/1.0`, or `HTTP/1.1` for any later 1.x. */
  version: "HTTP/1.0" | "HTTP/1.1";
  status: number;
  statusText: string;
  /** Field lines in order, names lower-cased, folded lines joined. */
  fields: [string, string][];
}

/** How the body of a response is delimited (RFC 9112, section 6.3). */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/**
 * Reads one line ending in LF, of at most `limit` bytes with its LF.
 *
 * @returns The line with its LF, valid at least until the next read, or
 * `null` at a clean end of stream before any byte.
 * @throws {LimitExceededError} If there is no LF within `limit` bytes.
 * @throws {IncompleteReadError} If the stream ends in the line.
 */
export type LineReader = (limit: number) => Promise<Uint8Array | null>;

/** The {@linkcode LineReader} of a connection or of a buffered reader. */
export function lineReader(source: TcpConnection | BufferedReader): LineReader {
  // Both take a maximum length that does not count the delimiter.
  const read = source instanceof BufferedReader
    ? (limit: number) => source.readUntil(LF, limit - 1)
    : (limit: number) => source.readUntil(LF, { maxLength: limit - 1 });
  return async (limit) => {
    try {
      try {
        return await read(limit);
      } catch (error) {
        // A TLS peer that closed without close_notify: the read after it
        // sees the end of the stream, with what had arrived of the line, and
        // the head is then cut short as over plain TCP.
        if (!(error instanceof Deno.errors.UnexpectedEof)) throw error;
        return await read(limit);
      }
    } catch (error) {
      if (error instanceof IncompleteReadError && error.partial.length === 0) {
        return null;
      }
      throw error;
    }
  };
}

/**
 * Reads the final response head, skipping a bounded number of interim (1xx)
 * ones.
 *
 * @throws {Deno.errors.InvalidData} If a head is malformed, or the server
 * switches protocols unasked.
 * @throws {LimitExceededError} If a head is too large, or interim responses
 * do not end.
 * @throws {Deno.errors.UnexpectedEof} If the stream ends first.
 */
export async function readFinalHead(
  readLine: LineReader,
): Promise<ResponseHead> {
  for (let interim = 0;; interim++) {
    const head = await readHead(readLine);
    if (head.status >= 200) return head;
    if (head.status === 101) {
      throw new Deno.errors.InvalidData(
        "the server switched protocols, which was not asked for",
      );
    }
    if (interim === MAX_INTERIM) {
      throw new LimitExceededError(
        `more than ${MAX_INTERIM} interim (1xx) responses`,
        MAX_INTERIM,
      );
    }
  }
}

/**
 * Reads a response head: the status line and the header section.
 *
 * @throws {Deno.errors.InvalidData} If it is malformed.
 * @throws {LimitExceededError} If it is too large.
 * @throws {Deno.errors.UnexpectedEof} If the stream ends first.
 */
export async function readHead(readLine: LineReader): Promise<ResponseHead> {
  const what = "response header section";
  const bytes = await readHeadLine(readLine, MAX_HEAD_BYTES, what);
  if (bytes === null) {
    throw new Deno.errors.UnexpectedEof(
      "the server closed the connection without a response",
    );
  }
  const line = decodeLine(bytes, "status line");
  const match = STATUS_LINE.exec(line);
  if (match === null) {
    throw new Deno.errors.InvalidData(`malformed status line ${quote(line)}`);
  }
  const fields = await readFields(
    readLine,
    MAX_HEAD_BYTES - bytes.length,
    what,
  );
  return {
    version: match[1] === "0" ? "HTTP/1.0" : "HTTP/1.1",
    status: Number(match[2]),
    statusText: match[3] ?? "",
    fields,
  };
}

/**
 * Reads field lines up to the empty line that ends a header or trailer
 * section, within `budget` bytes. RFC 9112 section 2.2 lets a recipient take
 * a bare LF for the CRLF that ends these lines.
 *
 * @param what The section, for messages: `"trailer section"`.
 */
export async function readFields(
  readLine: LineReader,
  budget: number,
  what: string,
): Promise<[string, string][]> {
  const fields: [string, string][] = [];
  for (let left = budget;;) {
    const bytes = await readHeadLine(readLine, left, what);
    if (bytes === null) {
      throw new Deno.errors.UnexpectedEof(
        `the connection closed in the middle of the ${what}`,
      );
    }
    left -= bytes.length;
    const line = decodeLine(bytes, what);
    if (line === "") return fields;
    if (line[0] === " " || line[0] === "\t") {
      // obs-fold: RFC 9112 section 5.2 has a user agent replace it with a
      // space. Before any field it is whitespace after the start line, which
      // must be refused (section 2.2).
      const last = fields.at(-1);
      if (last === undefined) {
        throw new Deno.errors.InvalidData(`the ${what} starts with whitespace`);
      }
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    fields.push(parseField(line, fields.length, what));
  }
}

/** Splits `name: value`, refusing a name that is not a token. */
function parseField(
  line: string,
  count: number,
  what: string,
): [string, string] {
  const colon = line.indexOf(":");
  const name = colon === -1 ? "" : line.slice(0, colon);
  if (!isToken(name)) {
    throw new Deno.errors.InvalidData(`malformed field line ${quote(line)}`);
  }
  if (count >= MAX_FIELDS) {
    throw new LimitExceededError(
      `the ${what} has more than ${MAX_FIELDS} fields`,
      MAX_FIELDS,
    );
  }
  return [name.toLowerCase(), line.slice(colon + 1).trim()];
}

/**
 * Reads one line of a head, or throws a clear error when the budget runs out
 * or the stream ends. Returns `null` at a clean end of stream before any byte.
 */
async function readHeadLine(
  readLine: LineReader,
  budget: number,
  what: string,
): Promise<Uint8Array | null> {
  try {
    return await readLine(Math.max(budget, 2));
  } catch (error) {
    if (error instanceof LimitExceededError) {
      throw new LimitExceededError(
        `the ${what} is larger than ${MAX_HEAD_BYTES} bytes`,
        MAX_HEAD_BYTES,
      );
    }
    if (error instanceof IncompleteReadError) {
      throw new Deno.errors.UnexpectedEof(
        `the connection closed in the middle of the ${what}`,
      );
    }
    throw error;
  }
}

/** A line without its LF and any CR before it, decoded as Latin-1. */
function decodeLine(bytes: Uint8Array, what: string): string {
  let end = bytes.length - 1;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return decodeText(bytes.subarray(0, end), what);
}

/** The values of all fields named `name`, split on commas and trimmed. */
export function listValues(head: ResponseHead, name: string): string[] {
  const values: string[] = [];
  for (const [key, value] of head.fields) {
    if (key !== name) continue;
    for (const item of value.split(",")) values.push(item.trim());
  }
  return values;
}

/**
 * The value of a field that may appear once, or `undefined`.
 *
 * @throws {Deno.errors.InvalidData} If it appears with different values.
 */
export function singleValue(
  head: ResponseHead,
  name: string,
): string | undefined {
  let found: string | undefined;
  for (const [key, value] of head.fields) {
    if (key !== name) continue;
    if (found !== undefined && found !== value) {
      throw new Deno.errors.InvalidData(
        `conflicting "${name}" fields ${quote(found)} and ${quote(value)}`,
      );
    }
    found = value;
  }
  return found;
}

/** The value of a field, or `undefined` if absent or inconsistent. */
export function lenientValue(
  head: ResponseHead,
  name: string,
): string | undefined {
  try {
    return singleValue(head, name);
  } catch {
    return undefined;
  }
}

/** The fields as a `Headers`, dropping values that class refuses. */
export function toHeaders(head: ResponseHead): Headers {
  const headers = new Headers();
  for (const [name, value] of head.fields) {
    try {
      headers.append(name, value);
    } catch {
      // Not fatal: framing was decided from the raw fields already.
    }
  }
  return headers;
}

/**
 * Works out how the body of a response to a GET is delimited (RFC 9112,
 * section 6.3).
 *
 * @throws {Deno.errors.InvalidData} For a transfer coding other than
 * chunked, or a missing, malformed or conflicting `Content-Length`.
 */
export function framingOf(head: ResponseHead): Framing {
  if (head.status === 204 || head.status === 304) return { kind: "none" };
  const codings = listValues(head, "transfer-encoding");
  if (codings.length > 0) {
    if (head.version === "HTTP/1.0") {
      // Section 6.1: such framing is faulty, whatever Content-Length says.
      throw new Deno.errors.InvalidData(
        'an HTTP/1.0 response has "Transfer-Encoding"',
      );
    }
    // Only chunked is decoded; anything else (gzip, chunked twice, an
    // unknown name) would leave bytes we cannot interpret.
    const other = codings.find((coding) => coding.toLowerCase() !== "chunked");
    if (other !== undefined || codings.length > 1) {
      throw new Deno.errors.InvalidData(
        `unsupported transfer coding ${quote(other ?? codings.join(", "))}`,
      );
    }
    // Chunked wins over Content-Length (section 6.3, rule 3).
    return { kind: "chunked" };
  }
  const lengths = listValues(head, "content-length");
  if (lengths.length === 0) return { kind: "close" };
  let length: number | undefined;
  for (const value of lengths) {
    // 1*DIGIT, and no more digits than a safe integer holds.
    if (!/^[0-9]{1,15}$/.test(value)) {
      throw new Deno.errors.InvalidData(
        `malformed "Content-Length" ${quote(value)}`,
      );
    }
    const n = Number(value);
    if (length !== undefined && n !== length) {
      throw new Deno.errors.InvalidData(
        `conflicting "Content-Length" values ${length} and ${n}`,
      );
    }
    length = n;
  }
  return { kind: "length", length: length! };
}
