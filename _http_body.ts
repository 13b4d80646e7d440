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
 * How many bytes wait before they are written, when no write runs. Over TLS
 * every read brings one record of at most 16 KiB, and each file write costs
 * a trip through the runtime's blocking pool (~30 µs of CPU on top of the
 * copy, measured with 256 KiB writes to tmpfs). Writing whenever the
 * previous write was done (so ~4,096 writes of ~256 KiB per GiB) put 1 GiB
 * from a local TLS server at 0.67x `curl -o` (median of 8 interleaved
 * rounds); waiting for 512 KiB put it at 1.16x, with 1.06-1.15x for the
 * other sizes tried. Over plain TCP one read usually brings more than this.
 */
const FLUSH_SIZE = 512 * 1024;
/**
 * The most bytes that gather while a write runs before the next read waits
 * for it. Gathers reach into the buffer, and only pages that reads reach are
 * ever touched: peak RSS for 1 GiB over TLS 59-60 MiB at 1 MiB, 68 MiB at
 * 2 MiB.
 */
const GATHER_LIMIT = 1024 * 1024;
/**
 * How long arrived bytes may wait for more before they are written anyway,
 * so that a slow or stalled server's bytes still reach the file (and the
 * progress reports) promptly.
 */
const FLUSH_DELAY = 50;
/**
 * The part of the buffer a chunked body's framing is read through: room for
 * the largest trailer section, and for plain TCP reads of many chunks.
 */
const CHUNKED_READER_SIZE = 1024 * 1024;

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
 * Copies up to `limit` bytes (or to the end of the stream), in writes of at
 * least {@linkcode FLUSH_SIZE} bytes however small the reads.
 *
 * One write runs at a time, and reads go on while it runs: bytes gather
 * behind it, up to {@linkcode GATHER_LIMIT}, and go out as soon as it is
 * done if there are enough of them. Bytes that wait for more are written
 * {@linkcode FLUSH_DELAY} ms after they arrived at the latest, even while
 * the next read is still waiting: a stalled server leaves nothing unwritten.
 * When nothing waits to be written, the next read goes to the start of a
 * half that no write is using. The sink runs once per write, so progress
 * reports come at least every {@linkcode FLUSH_SIZE} bytes, or that delay
 * after bytes arrive.
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Waiting bytes have waited long enough: write them at the next chance. */
  let due = false;
  /** A write failed: its error is thrown where the loop next waits. */
  let failed = false;
  /** Ends the read the loop waits for, when a write fails meanwhile. */
  let wake: ((error: unknown) => void) | undefined;
  const flush = () => {
    due = false;
    writingFrom = current;
    const write: Promise<void> = sink(current.subarray(start, filled)).then(
      () => {
        writing = writingFrom = undefined;
        if (filled - start >= FLUSH_SIZE || (due && start < filled)) flush();
      },
    );
    // A failure is thrown where the loop next waits for the write, and ends
    // the wait for a read at once: a stalled server must not hold back a
    // full disk (or an onProgress that throws) until it sends more.
    write.catch((error) => {
      failed = true;
      wake?.(error);
    });
    writing = write;
    start = filled;
  };
  const overdue = () => {
    timer = undefined;
    if (start === filled) return;
    due = true;
    if (writing === undefined) flush();
  };
  /** The read's result, or the error of a write that fails first. */
  const orFailure = (read: Promise<number | null>) =>
    new Promise<number | null>((resolve, reject) => {
      wake = reject;
      read.then(resolve, reject);
    });
  /** Waits until no write runs; each may have started the next. */
  const written = async () => {
    while (writing !== undefined) await writing;
  };
  try {
    for (;;) {
      if (copied >= limit) break;
      if (failed) await written();
      if (start === filled) {
        if (writingFrom === current) [current, spare] = [spare, current];
        start = filled = 0;
      } else if (filled - start >= GATHER_LIMIT || filled === half) {
        await written();
        if (start < filled) flush();
        continue;
      }
      let n: number | null;
      try {
        const read = source.readInto(
          current.subarray(filled, Math.min(half, filled + limit - copied)),
        );
        // Only a write, or bytes that a timer may start writing, can fail
        // while the read waits.
        n = writing === undefined && start === filled
          ? await read
          : await orFailure(read);
      } catch (error) {
        // A write that failed throws its own error here, not the read's.
        // What arrived before the error is the body's: a partial file kept
        // for a resume must hold all of it.
        await written();
        if (start < filled) flush();
        await written();
        throw withCopied(error, copied);
      }
      wake = undefined;
      if (n === null) break;
      filled += n;
      copied += n;
      if (writing === undefined && (filled - start >= FLUSH_SIZE || due)) {
        flush();
      } else if (timer === undefined) {
        timer = setTimeout(overdue, FLUSH_DELAY);
      }
    }
    await written();
    if (start < filled) flush();
    await written();
  } catch (error) {
    await writing?.catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return copied;
}

function withCopied(error: unknown, copied: number): unknown {
  if (error instanceof Error) (error as BatchError).copied = copied;
  return error;
}

/**
 * Copies a chunked body. Its framing is parsed from a reader over the first
 * {@linkcode CHUNKED_READER_SIZE} bytes of the reused buffer, not with the
 * connection's own readUntil and readExact: those hand out views that stay
 * valid, so each fills a newly allocated buffer with whatever follows, and a
 * large body of small chunks would pass through fresh allocations (measured
 * at ~70 MiB peak for 1 GiB against ~46 MiB this way). The data is copied
 * out of that reader into the rest of the buffer and written as any body is:
 * writing each piece as the decoder gave it meant a file write per TLS
 * record, or per chunk.
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
  }, { buffer: buffer.subarray(0, CHUNKED_READER_SIZE) });
  const decoder = new ChunkedDecoder(reader);
  await copyBatched(
    { readInto: (p) => decoder.readInto(p) },
    buffer.subarray(CHUNKED_READER_SIZE),
    Infinity,
    sink,
  );
  return decoder.received;
}
