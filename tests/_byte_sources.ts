// Copyright 2026 the tcp authors. MIT license.
// Byte fixtures for parsers that need no sockets: sources that hand out a
// fixed text in hostile chunkings, as Go's iotest readers do, and the
// package's buffered reader over them.

import { BufferedReader, type ByteSource } from "../_buffered_reader.ts";

const encoder = new TextEncoder();

/** A source that returns `text` in pieces of at most `size` bytes. */
export function pieces(text: string | Uint8Array, size = Infinity): ByteSource {
  const data = typeof text === "string" ? latin1(text) : text;
  let offset = 0;
  return {
    read(p) {
      if (offset === data.length) return Promise.resolve(null);
      const n = Math.min(p.length, size, data.length - offset);
      p.set(data.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

/** Go's iotest.HalfReader: half of what is asked, rounded up. */
export function half(text: string | Uint8Array): ByteSource {
  const inner = pieces(text);
  return { read: (p) => inner.read(p.subarray(0, Math.ceil(p.length / 2))) };
}

/** `text`, then `error` instead of the end. */
export function failing(text: string, error: Error): ByteSource {
  const inner = pieces(text);
  return {
    read: async (p) => (await inner.read(p)) ?? Promise.reject(error),
  };
}

/** The chunkings every parser is run under: whole, one byte, halves. */
export const CHUNKINGS: [string, (text: string) => ByteSource][] = [
  ["whole", (text) => pieces(text)],
  ["one byte at a time", (text) => pieces(text, 1)],
  ["in halves", (text) => half(text)],
];

/**
 * A buffered reader over `source` with a small fixed buffer, as the body
 * copy uses one (views valid until the next call).
 */
export function fixedReader(
  source: ByteSource,
  size = 128 * 1024,
): BufferedReader {
  return new BufferedReader(source, { buffer: new Uint8Array(size) });
}

/** Each character of `text` as one byte (Latin-1): obs-text included. */
export function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** UTF-8, for text that is plain ASCII anyway. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
