// Copyright 2026 the tcp authors. MIT license.
// The chunked transfer coding (RFC 9112, section 7.1), decoded to the letter
// on the package's buffered reader:
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size   = 1*HEXDIG
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//   chunk-ext    = *( BWS ";" BWS chunk-ext-name
//                     [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
//
// Framing is where a client and the proxies in front of it must agree, or a
// response can be smuggled inside another: every line that strays from the
// grammar is refused rather than guessed at. Chunk lines end in CRLF (the
// bare LF that section 2.2 tolerates is for the start line and fields, which
// the trailer section's lines are); extensions are parsed, counted against a
// bound, and dropped.

import {
  type BufferedReader,
  IncompleteReadError,
  LimitExceededError,
} from "./_buffered_reader.ts";
import {
  type LineReader,
  lineReader,
  MAX_HEAD_BYTES,
  readFields,
} from "./_http_response.ts";
import {
  decodeText,
  isTokenChar,
  quote,
  quotedStringEnd,
} from "./_http_syntax.ts";

/** The longest chunk line, extensions and CRLF included. */
export const MAX_CHUNK_LINE = 4096;
/** The most chunk-extension bytes a whole body may carry. */
export const MAX_CHUNK_EXTENSIONS = 64 * 1024;
/** Chunk sizes above this many hex digits (2^52) cannot be real. */
const MAX_CHUNK_HEX_DIGITS = 13;

/** What a chunk line says. */
export interface ChunkLine {
  /** The size of the chunk's data; 0 for the last chunk. */
  size: number;
  /** How many characters the extensions take, whitespace included. */
  extensions: number;
}

/**
 * Parses a chunk line without its CRLF: `chunk-size [ chunk-ext ]`.
 *
 * @param line The line, decoded, holding no control character but HTAB.
 * @throws {Deno.errors.InvalidData} If it strays from the grammar, or the
 * size is too large to be real.
 */
export function parseChunkLine(line: string): ChunkLine {
  let end = 0;
  while (end < line.length && isHexDigit(line.charCodeAt(end))) end++;
  if (end === 0) throw malformed(line, "it does not start with a chunk size");
  const digits = line.slice(0, end).replace(/^0+(?=.)/, "");
  if (digits.length > MAX_CHUNK_HEX_DIGITS) {
    throw new Deno.errors.InvalidData(
      `chunk size ${quote(line.slice(0, end))} is too large`,
    );
  }
  for (let i = end; i < line.length;) i = skipExtension(line, i);
  return { size: parseInt(digits, 16), extensions: line.length - end };
}

/**
 * Checks one `BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ]` at
 * `line[start]`; returns the index after it.
 */
function skipExtension(line: string, start: number): number {
  let i = skipWhitespace(line, start);
  if (i === line.length) {
    throw malformed(line, "whitespace without an extension after it");
  }
  if (line[i] !== ";") {
    throw malformed(line, `expected ";" or the end, found ${quote(line[i]!)}`);
  }
  i = skipWhitespace(line, i + 1);
  const name = skipToken(line, i);
  if (name === i) throw malformed(line, "a chunk extension has no name");
  i = skipWhitespace(line, name);
  if (line[i] !== "=") return name;
  i = skipWhitespace(line, i + 1);
  if (line[i] === '"') {
    const end = quotedStringEnd(line, i);
    if (end === -1) {
      throw malformed(line, "a quoted chunk extension value is not closed");
    }
    return end;
  }
  const value = skipToken(line, i);
  if (value === i) {
    throw malformed(
      line,
      "a chunk extension value is neither a token nor a quoted string",
    );
  }
  return value;
}

function skipWhitespace(line: string, i: number): number {
  while (line[i] === " " || line[i] === "\t") i++;
  return i;
}

function skipToken(line: string, i: number): number {
  while (i < line.length && isTokenChar(line.charCodeAt(i))) i++;
  return i;
}

function isHexDigit(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) ||
    (code >= 0x61 && code <= 0x66);
}

function malformed(line: string, why: string): Deno.errors.InvalidData {
  return new Deno.errors.InvalidData(
    `malformed chunk size line ${quote(line)}: ${why}`,
  );
}

/**
 * Decodes a chunked body from a {@linkcode BufferedReader} positioned at its
 * first chunk line. Reads go no further than the body's end: what follows
 * stays in the reader.
 */
export class ChunkedDecoder {
  #reader: BufferedReader;
  #readLine: LineReader;
  /** Data bytes left in the current chunk, and its size. */
  #left = 0;
  #size = 0;
  #received = 0;
  #extensions = 0;
  #done = false;

  /** Decodes the body that `reader` holds next. */
  constructor(reader: BufferedReader) {
    this.#reader = reader;
    this.#readLine = lineReader(reader);
  }

  /** Data bytes decoded so far. */
  get received(): number {
    return this.#received;
  }

  /**
   * Reads chunk data into `p`: what the reader holds first, otherwise one
   * read from its source.
   *
   * @returns How many bytes were put at the start of `p`, or `null` once the
   * last chunk and the trailer section (dropped) have been read.
   * @throws {Deno.errors.InvalidData} If the framing is malformed.
   * @throws {LimitExceededError} If a chunk line or the extensions are too
   * long, or the trailer section is too large.
   * @throws {Deno.errors.UnexpectedEof} If the stream ends first.
   */
  async readInto(p: Uint8Array): Promise<number | null> {
    if (this.#left === 0 && !await this.#nextChunk()) return null;
    const n = await this.#reader.readInto(
      p.length > this.#left ? p.subarray(0, this.#left) : p,
    );
    if (n === null) {
      throw new Deno.errors.UnexpectedEof(
        `chunked body ended after ${this.#received} bytes, in a chunk of ${this.#size}`,
      );
    }
    this.#left -= n;
    this.#received += n;
    return n;
  }

  /** Reads up to the next chunk's data; `false` after the last chunk. */
  async #nextChunk(): Promise<boolean> {
    if (this.#done) return false;
    if (this.#size > 0) await this.#readDataEnd();
    const { size, extensions } = parseChunkLine(await this.#readChunkLine());
    // Extensions are dropped, but bounded in total so that a stream of tiny
    // chunks cannot be mostly extension bytes.
    this.#extensions += extensions;
    if (this.#extensions > MAX_CHUNK_EXTENSIONS) {
      throw new LimitExceededError(
        `chunk extensions take more than ${MAX_CHUNK_EXTENSIONS} bytes`,
        MAX_CHUNK_EXTENSIONS,
      );
    }
    if (size === 0) {
      await readFields(this.#readLine, MAX_HEAD_BYTES, "trailer section");
      this.#done = true;
      return false;
    }
    this.#size = this.#left = size;
    return true;
  }

  /** Reads a chunk line and returns it without its CRLF. */
  async #readChunkLine(): Promise<string> {
    let bytes: Uint8Array | null = null;
    try {
      bytes = await this.#readLine(MAX_CHUNK_LINE);
    } catch (error) {
      if (error instanceof LimitExceededError) {
        throw new LimitExceededError(
          `a chunk size line is longer than ${MAX_CHUNK_LINE} bytes`,
          MAX_CHUNK_LINE,
        );
      }
      if (!(error instanceof IncompleteReadError)) throw error;
    }
    if (bytes === null) throw this.#endedBetweenChunks();
    const crlf = bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d;
    const line = decodeText(
      bytes.subarray(0, bytes.length - (crlf ? 2 : 1)),
      "chunk size line",
    );
    if (!crlf) throw malformed(line, "it ends in a bare LF, not CRLF");
    return line;
  }

  /** Reads the CRLF that must follow chunk data. */
  async #readDataEnd(): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#reader.readExact(2);
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      throw this.#endedBetweenChunks();
    }
    if (bytes[0] !== 0x0d || bytes[1] !== 0x0a) {
      throw new Deno.errors.InvalidData(
        `chunk data is not followed by CRLF after ${this.#received} bytes`,
      );
    }
  }

  #endedBetweenChunks(): Deno.errors.UnexpectedEof {
    return new Deno.errors.UnexpectedEof(
      `chunked body ended after ${this.#received} bytes, before the final chunk`,
    );
  }
}
