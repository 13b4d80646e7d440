// Copyright 2026 the tcp authors. MIT license.
// The body copy on byte fixtures, without sockets: each framing under
// hostile chunkings, truncation, TLS ends without close_notify, a slow sink
// that must not see its bytes overwritten, and failures of the sink.
import assert from "node:assert/strict";
import type { ByteSource } from "../_buffered_reader.ts";
import { type BodySource, copyBody } from "../_http_body.ts";
import type { Framing } from "../_http_response.ts";
import { CHUNKINGS, pieces } from "./_byte_sources.ts";

/** A body source over a byte source, as a connection is after the head. */
function bodySource(source: ByteSource): BodySource & { reads: number } {
  const body = {
    reads: 0,
    readInto(p: Uint8Array) {
      body.reads++;
      return source.read(p);
    },
  };
  return body;
}

/** A source that gives `text`, then fails as a TLS close without close_notify. */
function tlsCut(text: string): BodySource {
  const inner = pieces(text);
  return {
    readInto: async (p) =>
      (await inner.read(p)) ??
        Promise.reject(new Deno.errors.UnexpectedEof("peer closed")),
  };
}

/** Copies under `framing`, collecting what the sink receives. */
async function copy(
  source: BodySource,
  framing: Framing,
): Promise<{ count: number; text: string }> {
  let text = "";
  const count = await copyBody(source, framing, async (chunk) => {
    // The view is valid until this promise settles: read it afterwards.
    await Promise.resolve();
    text += String.fromCharCode(...chunk);
  });
  return { count, text };
}

Deno.test("copyBody() copies exactly Content-Length bytes under every chunking", async (t) => {
  for (const [name, source] of CHUNKINGS) {
    await t.step(name, async () => {
      const body = bodySource(source("hello, worldEXTRA"));
      const { count, text } = await copy(body, { kind: "length", length: 12 });
      assert.equal(count, 12);
      assert.equal(text, "hello, world");
      // What follows the body is left unread.
      let rest = "";
      const p = new Uint8Array(16);
      for (let n; (n = await body.readInto(p)) !== null;) {
        rest += String.fromCharCode(...p.subarray(0, n));
      }
      assert.equal(rest, "EXTRA");
    });
  }
});

Deno.test("copyBody() fails on a body shorter than Content-Length", async () => {
  await assert.rejects(
    copy(bodySource(pieces("x".repeat(50), 7)), {
      kind: "length",
      length: 100,
    }),
    (error: Error) =>
      error instanceof Deno.errors.UnexpectedEof &&
      error.message === "body ended after 50 of 100 bytes",
  );
  await assert.rejects(
    copy(tlsCut("abc"), { kind: "length", length: 10 }),
    (error: Error) =>
      error instanceof Deno.errors.UnexpectedEof &&
      error.message === "body ended after 3 of 10 bytes" &&
      error.cause instanceof Deno.errors.UnexpectedEof,
  );
});

Deno.test("copyBody() reads a body without length to the end", async () => {
  for (const [name, source] of CHUNKINGS) {
    const { count, text } = await copy(bodySource(source("to the end")), {
      kind: "close",
    });
    assert.equal(count, 10, name);
    assert.equal(text, "to the end", name);
  }
  await assert.rejects(
    copy(tlsCut("some"), { kind: "close" }),
    (error: Error) =>
      error instanceof Deno.errors.UnexpectedEof &&
      /^the TLS connection ended without close_notify after 4 bytes/.test(
        error.message,
      ),
  );
});

Deno.test("copyBody() decodes a chunked body and leaves what follows", async () => {
  for (const [name, source] of CHUNKINGS) {
    const body = bodySource(source("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    const { count, text } = await copy(body, { kind: "chunked" });
    assert.equal(count, 5, name);
    assert.equal(text, "abcde", name);
  }
  // A TLS close without close_notify before the last chunk is a truncation.
  await assert.rejects(
    copy(tlsCut("3\r\nabc\r\n"), { kind: "chunked" }),
    (error: Error) =>
      error instanceof Deno.errors.UnexpectedEof &&
      error.message ===
        "chunked body ended after 3 bytes, before the final chunk",
  );
});

Deno.test("copyBody() reads nothing for a body that has none", async () => {
  const body = bodySource(pieces("unrelated"));
  assert.deepEqual(await copy(body, { kind: "none" }), { count: 0, text: "" });
  assert.equal(body.reads, 0);
});

Deno.test("copyBody() never overwrites bytes the sink is still writing", async () => {
  // Larger than the buffer, in reads of 3 MiB, with a sink that takes its
  // time: reads overlap writes, and each write must still see its own bytes.
  const size = 40 * 1024 * 1024 + 17;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
  let at = 0;
  let mismatches = 0;
  const count = await copyBody(
    bodySource(pieces(data, 3 * 1024 * 1024)),
    { kind: "length", length: size },
    async (chunk) => {
      const expected = data.subarray(at, at + chunk.length);
      at += chunk.length;
      await new Promise((resolve) => setTimeout(resolve, 1));
      for (let i = 0; i < chunk.length; i += 4093) {
        if (chunk[i] !== expected[i]) mismatches++;
      }
      if (chunk.at(-1) !== expected.at(-1)) mismatches++;
    },
  );
  assert.equal(count, size);
  assert.equal(at, size);
  assert.equal(mismatches, 0);
});

Deno.test("copyBody() fails with the sink's error once its writes have settled", async () => {
  const full = new Error("disk full");
  let writes = 0;
  let settled = 0;
  // Reads slower than the writes, and each as large as a write waits for,
  // so that each read gets a write of its own (reads that arrive while a
  // write runs are gathered into the next one).
  const piece = 512 * 1024;
  const inner = pieces(new Uint8Array(10 * piece), piece);
  let lastRead: Promise<unknown> = Promise.resolve();
  const slow: BodySource = {
    readInto: (p) => {
      const read = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return inner.read(p);
      })();
      lastRead = read;
      return read;
    },
  };
  await assert.rejects(
    copyBody(
      slow,
      { kind: "length", length: 10 * piece },
      async () => {
        writes++;
        await new Promise((resolve) => setTimeout(resolve, 0));
        settled++;
        if (writes === 3) throw full;
      },
    ),
    (error) => error === full,
  );
  assert.equal(settled, writes);
  // A read may still be in flight (a connection's ends when it is closed).
  await lastRead;
});

Deno.test("copyBody() fails with the sink's error at once while the server stalls", async (t) => {
  // The body's first bytes, then a server that sends nothing more: a full
  // disk must end the copy without waiting for the server.
  for (
    const [name, first] of [
      ["a write as large as writes wait for", 600 * 1024],
      ["a few bytes, written after a delay", 100],
    ] as const
  ) {
    await t.step(name, async () => {
      const full = new Error("disk full");
      let release = (_: null) => {};
      let sent = false;
      const stalled: BodySource = {
        readInto: (p) => {
          if (sent) return new Promise((resolve) => release = resolve);
          sent = true;
          p.fill(1, 0, first);
          return Promise.resolve(first);
        },
      };
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        copyBody(stalled, { kind: "close" }, () => Promise.reject(full)).then(
          () => "copied",
          (error) => error,
        ),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve("still waiting after 2 s"), 2000);
        }),
      ]);
      clearTimeout(timer);
      release(null);
      assert.equal(outcome, full);
    });
  }
});

Deno.test("copyBody() gathers small reads that arrive during a write into one write", async () => {
  // As over TLS: reads of one 16 KiB record each, and a file write that takes
  // longer than several of them.
  const size = 4 * 1024 * 1024;
  const record = 16 * 1024;
  let reads = 0;
  const inner = pieces(new Uint8Array(size), record);
  const source: BodySource = {
    readInto: async (p) => {
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 0));
      return inner.read(p);
    },
  };
  const writes: number[] = [];
  const count = await copyBody(
    source,
    { kind: "length", length: size },
    async (chunk) => {
      writes.push(chunk.length);
      await new Promise((resolve) => setTimeout(resolve, 20));
    },
  );
  assert.equal(count, size);
  assert.equal(reads, size / record);
  assert.equal(writes.reduce((a, b) => a + b, 0), size);
  // Far fewer writes than reads, and no write waited for a full half.
  assert.ok(
    writes.length < reads / 4,
    `${writes.length} writes for ${reads} reads`,
  );
  assert.ok(Math.max(...writes) < 8 * 1024 * 1024);
});

Deno.test("copyBody() writes small reads in pieces of at least 512 KiB", async () => {
  // Reads of one 16 KiB TLS record each, and a disk that keeps up: a write
  // per read would cost a file write per record.
  const size = 4 * 1024 * 1024 + 1000;
  const record = 16 * 1024;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
  let at = 0;
  let mismatches = 0;
  const writes: number[] = [];
  const count = await copyBody(
    bodySource(pieces(data, record)),
    { kind: "length", length: size },
    (chunk) => {
      writes.push(chunk.length);
      if (chunk.some((byte, i) => byte !== data[at + i])) mismatches++;
      at += chunk.length;
      return Promise.resolve();
    },
  );
  assert.equal(count, size);
  assert.equal(at, size);
  assert.equal(mismatches, 0);
  const smallest = Math.min(...writes.slice(0, -1));
  assert.ok(
    smallest >= 512 * 1024,
    `${writes.length} writes, the smallest of ${smallest} bytes`,
  );
});

Deno.test("copyBody() writes what has arrived while the next read still waits", async () => {
  // 500 bytes, 500 more while the first write runs, then a server that
  // stalls: the second 500 must reach the file before the stall ends.
  let stall: (n: null) => void = () => {};
  const parts = [500, 500];
  const source: BodySource = {
    readInto: (p) => {
      const n = parts.shift();
      if (n === undefined) return new Promise((resolve) => stall = resolve);
      p.fill(0x61, 0, n);
      return Promise.resolve(n);
    },
  };
  let received = 0;
  const reached = Promise.withResolvers<void>();
  const copying = copyBody(source, { kind: "close" }, async (chunk) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    received += chunk.length;
    if (received === 1000) reached.resolve();
  });
  await reached.promise;
  assert.equal(received, 1000);
  stall(null);
  assert.equal(await copying, 1000);
});
