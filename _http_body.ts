// Copyright 2026 the tcp authors. MIT license.
// The one place a response body's bytes move: from the connection, through
// one reused buffer, to the sink (the file), as the framing delimits them
// (RFC 9112, section 6.3): a Content-Length, chunked, or up to the close.
// How reads and writes overlap, and how large the buffer is, is decided here
// and only here.

import { BufferedReader } from "./_buffered_reader.ts";
import { ChunkedDecoder } from "./_http_chunked.ts";
import type { Framing } from "./_http_response.ts";

/**
 * The one buffer body data passes through, reused for every read: reads go
 * from the socket straight into it and file writes come out of it, so memory
 * stays flat however large the body. Its halves alternate, so that reads
 * overlap the previous write. A read takes whatever the socket has queued,
 * so large halves mean fewer runtime calls, and only the pages reads reach
 * are ever touched: on 1 GiB over loopback 8 MiB halves measured ~1.23x
 * fetch + pipeTo against ~0.9x for 2 MiB ones, peak RSS 53 MiB against 49.
 */
const BUFFER_SIZE = 16 * 1024 * 1024;
/**
 * The most bytes gathered for one write while the previous write runs. Over
 * TLS, reads bring one 16 KiB record each and gather until the write is done:
 * left to grow, a gather reached megabytes and touched every page of both
 * halves (peak RSS 75-76 MiB for 1 GiB, against 57-59 MiB before gathering;
 * 60-61 MiB at 1 MiB, 62-63 MiB at 2 MiB). 1,024 writes per GiB cost their
 * runtime calls little next to moving the bytes; a plain TCP read still
 * fills as much of a half as it brings.
 */
const GATHER_LIMIT = 1024 * 1024;

/** Where body bytes come from: a `TcpConnection`, after the head. */
export interface BodySource {
  /** Reads into `p`; resolves with the count, or `null` at the end. */
  readInto(p: Uint8Array): Promise<number | null>;
}

/**
 * Receives body bytes: a view of the reused buffer, valid only until the
 * promise settles.
 */
export type BodySink = (chunk: Uint8Array) => Promise<void>;

/**
 * Copies a body to `sink` as `framing` delimits it. Returns once the body is
 * complete; bytes after it are left unread.
 *
 * @returns The number of body bytes.
 * @throws {Deno.errors.UnexpectedEof} If the body ends early (or, without a
 * length, a TLS connection ends without close_notify).
 * @throws {Deno.errors.InvalidData} If chunked framing is malformed.
 */
export async function copyBody(
  source: BodySource,
  framing: Framing,
  sink: BodySink,
): Promise<number> {
  if (framing.kind === "none") return 0;
  const buffer = new Uint8Array(BUFFER_SIZE);
  switch (framing.kind) {
    case "length":
      await copyExact(source, buffer, framing.length, sink);
      return framing.length;
    case "close":
      return await copyToEnd(source, buffer, sink);
    case "chunked":
      return await copyChunked(source, buffer, sink);
  }
}

/** Copies exactly `length` bytes. */
async function copyExact(
  source: BodySource,
  buffer: Uint8Array,
  length: number,
  sink: BodySink,
): Promise<void> {
  let copied = 0;
  try {
    copied = await copyBatched(source, buffer, length, sink);
  } catch (error) {
    if (!(error instanceof Deno.errors.UnexpectedEof)) throw error;
    throw ended(length, length - (error as BatchError).copied, error);
  }
  if (copied < length) throw ended(length, length - copied);
}

function ended(
  length: number,
  left: number,
  cause?: unknown,
): Deno.errors.UnexpectedEof {
  return new Deno.errors.UnexpectedEof(
    `body ended after ${length - left} of ${length} bytes`,
    { cause },
  );
}

/** Copies everything up to the end of the stream. */
async function copyToEnd(
  source: BodySource,
  buffer: Uint8Array,
  sink: BodySink,
): Promise<number> {
  try {
    return await copyBatched(source, buffer, Infinity, sink);
  } catch (error) {
    if (error instanceof Deno.errors.UnexpectedEof) {
      // A TLS close without close_notify: for a body that runs to the close
      // that is indistinguishable from a truncation.
      throw new Deno.errors.UnexpectedEof(
        `the TLS connection ended without close_notify after ${
          (error as BatchError).copied
        } bytes, so the body may be truncated`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** A read error from copyBatched, with how many bytes had arrived. */
type BatchError = Error & { copied: number };

/**
 * Copies up to `limit` bytes (or to the end of the stream), in writes as
 * large as what arrives while the previous write runs.
 *
 * Reads fill one half of the buffer while the other half is being written;
 * a half goes to the sink as soon as the other half's write is done (or it
 * is full). Over plain TCP a read brings megabytes and this writes after
 * nearly every read, as before. Over TLS every read brings one record of at
 * most 16 KiB, and writing after each one cost a file write through the
 * runtime's blocking pool per record (16,490 writes, 2.45 s of system time
 * per GiB, strace): now those records gather while the previous write runs.
 * The sink is called as often as a write finishes, so progress reports
 * stay as timely as the disk.
 *
 * @returns How many bytes were copied: fewer than `limit` only at the end of
 * the stream.
 */
async function copyBatched(
  source: BodySource,
  buffer: Uint8Array,
  limit: number,
  sink: BodySink,
): Promise<number> {
  const half = buffer.length >> 1;
  let current = buffer.subarray(0, half);
  let spare = buffer.subarray(half);
  let filled = 0;
  let copied = 0;
  let writing: Promise<void> | undefined;
  let written = true;
  const flush = async () => {
    // The other half must be free before this one is handed out.
    if (writing) await writing;
    written = false;
    writing = sink(current.subarray(0, filled));
    writing.then(() => written = true, () => {});
    [current, spare] = [spare, current];
    filled = 0;
  };
  try {
    while (copied < limit) {
      let n: number | null;
      try {
        n = await source.readInto(
          current.subarray(filled, Math.min(half, filled + limit - copied)),
        );
      } catch (error) {
        if (error instanceof Error) {
          (error as BatchError).copied = copied;
        }
        throw error;
      }
      if (n === null) break;
      filled += n;
      copied += n;
      if (written || filled >= GATHER_LIMIT) await flush();
    }
    if (filled > 0) await flush();
    if (writing) await writing;
  } catch (error) {
    await writing?.catch(() => {});
    throw error;
  }
  return copied;
}

/**
 * Copies a chunked body. Its framing is parsed from a reader over the reused
 * buffer rather than with the connection's own readUntil and readExact:
 * those hand out views that stay valid, so each fills a newly allocated
 * buffer with whatever follows, up to 256 KiB of body data, and a large body
 * of small chunks would pass through fresh allocations again (measured at
 * ~70 MiB peak for 1 GiB against ~46 MiB this way). Views of this reader are
 * valid until its next call.
 */
async function copyChunked(
  source: BodySource,
  buffer: Uint8Array,
  sink: BodySink,
): Promise<number> {
  const reader = new BufferedReader({
    read: (p) =>
      source.readInto(p).catch((error) => {
        // A TLS close without close_notify: before the final chunk that is
        // a truncation like any other, which the decoder reports.
        if (error instanceof Deno.errors.UnexpectedEof) return null;
        throw error;
      }),
  }, { buffer });
  const decoder = new ChunkedDecoder(reader);
  for (let data; (data = await decoder.read()) !== null;) await sink(data);
  return decoder.received;
}
