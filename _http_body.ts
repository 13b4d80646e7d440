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
 * The most bytes gathered for one write while the previous write runs, and
 * half of how far into a half small reads may go before they start again at
 * the beginning of one. Over TLS, reads bring one 16 KiB record each and
 * gather until the write is done. Peak RSS for 1 GiB from a local TLS
 * server: 57-59 MiB when each record was written on its own (and 2.4-4.3 s
 * of CPU), 75-76 MiB with gathers unbounded, 66-69 MiB at 1 MiB, 61-63 MiB
 * at 512 KiB, 59-62 MiB at 256 KiB (1.4-1.7 s of CPU, curl -o 1.0-1.1 s).
 * 4,096 writes per GiB cost their runtime calls little next to moving the
 * bytes; a plain TCP read still fills as much of a half as it brings.
 */
const GATHER_LIMIT = 256 * 1024;

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
 * One write runs at a time. Bytes that arrive while it runs gather behind
 * it, and go out the moment it is done, even while the next read is still
 * waiting: a stalled server leaves nothing unwritten that has arrived. When
 * nothing waits to be written, the next read goes to the start of a half
 * that no write is using. Over plain TCP a read brings megabytes and this
 * writes after nearly every read, as before. Over TLS every read brings one
 * record of at most 16 KiB, and writing after each one cost a file write
 * through the runtime's blocking pool per record (16,490 writes and 2.45 s
 * of system time per GiB, strace): now the records of one write's time go
 * out together. The sink is called as often as a write finishes, so progress
 * reports stay as timely as the disk.
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
  // Bytes [start, filled) of the current half wait to be written.
  let start = 0;
  let filled = 0;
  let copied = 0;
  let writing: Promise<void> | undefined;
  /** The half the write in flight comes from. */
  let writingFrom: Uint8Array | undefined;
  let reading: Promise<number | null> | undefined;
  const flush = () => {
    writingFrom = current;
    writing = sink(current.subarray(start, filled));
    // Its failure is thrown where the loop next waits for it.
    writing.catch(() => {});
    start = filled;
  };
  const written = async () => {
    await writing;
    writing = writingFrom = undefined;
  };
  try {
    for (;;) {
      if (reading === undefined) {
        if (copied >= limit) break;
        if (start === filled) {
          // Nothing waits: read to the start of a half no write is using.
          if (writingFrom === current) [current, spare] = [spare, current];
          start = filled = 0;
        } else if (
          filled - start >= GATHER_LIMIT || filled >= 2 * GATHER_LIMIT
        ) {
          await written();
          flush();
          continue;
        }
        try {
          reading = source.readInto(
            current.subarray(filled, Math.min(half, filled + limit - copied)),
          );
        } catch (error) {
          throw withCopied(error, copied);
        }
      }
      if (writing !== undefined && start < filled) {
        // Bytes wait for the write in flight: send them once it is done,
        // whether or not the read has landed by then.
        const wrote = await Promise.race([
          writing.then(() => true),
          reading.then(() => false, () => false),
        ]);
        if (wrote) {
          writing = writingFrom = undefined;
          flush();
          continue;
        }
      }
      let n: number | null;
      try {
        n = await reading;
      } catch (error) {
        reading = undefined;
        // What arrived before the error is the body's: a partial file kept
        // for a resume must hold all of it.
        if (start < filled) {
          await written();
          flush();
        }
        await written();
        throw withCopied(error, copied);
      }
      reading = undefined;
      if (n === null) break;
      filled += n;
      copied += n;
      if (writing === undefined) flush();
    }
    if (start < filled) {
      await written();
      flush();
    }
    await written();
  } catch (error) {
    reading?.catch(() => {});
    await writing?.catch(() => {});
    throw error;
  }
  return copied;
}

function withCopied(error: unknown, copied: number): unknown {
  if (error instanceof Error) (error as BatchError).copied = copied;
  return error;
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
