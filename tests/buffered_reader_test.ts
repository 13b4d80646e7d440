// Copyright 2026 the tcp authors. MIT license.
// The read buffer on its own, over sources that need no sockets: one-byte,
// half-size and erroring readers as Go's iotest has them, and a source whose
// reads the test answers by hand, to cancel reads while they wait.
import assert from "node:assert/strict";
import {
  BufferedReader,
  type ByteSource,
  IncompleteReadError,
  LimitExceededError,
} from "../_buffered_reader.ts";

const encoder = new TextEncoder();
/** A peer for messages: they name it as "peer:1". */
const PEER = {
  remoteAddr: { transport: "tcp", hostname: "peer", port: 1 } as Deno.NetAddr,
  localAddr: { transport: "tcp", hostname: "me", port: 2 } as Deno.NetAddr,
};
const decoder = new TextDecoder();

/** A source that returns `text` in pieces of at most `size` bytes. */
function chunked(text: string | Uint8Array, size = Infinity): ByteSource {
  const data = typeof text === "string" ? encoder.encode(text) : text;
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

/** Go's iotest.OneByteReader. */
const oneByte = (text: string | Uint8Array) => chunked(text, 1);

/** Go's iotest.HalfReader: half of what is asked, rounded up. */
function half(text: string): ByteSource {
  const inner = chunked(text);
  return { read: (p) => inner.read(p.subarray(0, Math.ceil(p.length / 2))) };
}

/** Go's iotest.DataErrReader's cousin: `text`, then `error` instead of the end. */
function failing(text: string, error: Error): ByteSource {
  const inner = chunked(text);
  return {
    read: async (p) => (await inner.read(p)) ?? Promise.reject(error),
  };
}

/** A source whose reads wait until the test answers them. */
class ManualSource implements ByteSource {
  reads: {
    p: Uint8Array;
    answer: (n: number | null) => void;
    fail: (error: Error) => void;
  }[] = [];

  read(p: Uint8Array): Promise<number | null> {
    return new Promise((answer, fail) => this.reads.push({ p, answer, fail }));
  }

  /** Fails the oldest read with `error`. */
  fail(error: Error): void {
    const read = this.reads.shift();
    assert.ok(read, "no read is waiting");
    read.fail(error);
  }

  /** Answers the oldest read with `text` (or the end). */
  send(text: string | null): void {
    const read = this.reads.shift();
    assert.ok(read, "no read is waiting");
    if (text === null) return read.answer(null);
    const bytes = encoder.encode(text);
    read.p.set(bytes);
    read.answer(bytes.length);
  }
}

/** Lets pending reads, timers of 0 ms and promise callbacks run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

const sources = {
  "whole": (text: string) => chunked(text),
  "one byte at a time": oneByte,
  "half of each read": half,
};

Deno.test("BufferedReader parses the same from every chunking", async (t) => {
  const text = "first line\r\nsecond\nabc\0tail 12345";
  for (const [name, make] of Object.entries(sources)) {
    await t.step(name, async () => {
      const reader = new BufferedReader(make(text));
      assert.equal(await reader.readLine(100), "first line");
      assert.equal(await reader.readLine(100), "second");
      assert.equal(
        decoder.decode(await reader.readUntil(encoder.encode("\0"), 10)),
        "abc\0",
      );
      assert.equal(decoder.decode(await reader.readExact(5)), "tail ");
      let rest = "";
      for (let chunk; (chunk = await reader.read(2)) !== null;) {
        assert.ok(chunk.length <= 2);
        rest += decoder.decode(chunk);
      }
      assert.equal(rest, "12345");
      assert.equal(await reader.read(), null);
      assert.equal(await reader.readLine(10), null);
      assert.equal(reader.bytesRead, encoder.encode(text).length);
    });
  }
});

Deno.test("BufferedReader.readLine() returns the unterminated rest, then null", async () => {
  for (const make of Object.values(sources)) {
    const reader = new BufferedReader(make("a\nrest"));
    assert.equal(await reader.readLine(10), "a");
    assert.equal(await reader.readLine(10), "rest");
    assert.equal(await reader.readLine(10), null);
  }
});

Deno.test("BufferedReader.readLine() bounds a line and consumes nothing when it is too long", async () => {
  for (const make of Object.values(sources)) {
    const reader = new BufferedReader(make("123456\r\nok\n"));
    await assert.rejects(reader.readLine(5), LimitExceededError);
    // Exactly the limit, with a CRLF that does not count.
    assert.equal(await reader.readLine(6), "123456");
    assert.equal(await reader.readLine(2), "ok");
  }
  // A peer that never ends its line is refused once it passes the limit.
  const endless = new BufferedReader(chunked("x".repeat(10_000)));
  await assert.rejects(endless.readLine(100), LimitExceededError);
  // What it holds is the limit plus at most one read.
  assert.ok(endless.buffered <= 2048, `${endless.buffered} bytes buffered`);
});

Deno.test("BufferedReader.readUntil() finds a delimiter split across reads", async () => {
  const reader = new BufferedReader(oneByte("abc\r\n\r\nbody"));
  const head = await reader.readUntil(encoder.encode("\r\n\r\n"), 10);
  assert.equal(decoder.decode(head), "abc\r\n\r\n");
  assert.equal(decoder.decode((await reader.read())!), "b");
});

Deno.test("BufferedReader.readExact() reports a short stream with what arrived", async () => {
  for (const make of Object.values(sources)) {
    const reader = new BufferedReader(make("abc"), { peer: PEER });
    const error = await reader.readExact(5).catch((e) => e);
    assert.ok(error instanceof IncompleteReadError);
    assert.equal(decoder.decode(error.partial), "abc");
    assert.equal(error.expected, 5);
    assert.equal(
      error.message,
      'Cannot read 5 bytes from "peer:1": the stream ended after 3 bytes',
    );
  }
});

Deno.test("BufferedReader returns the bytes before a source error, then the error with context", async () => {
  const reset = new Deno.errors.ConnectionReset("Connection reset by peer");
  const reader = new BufferedReader(failing("ab", reset), {
    peer: PEER,
  });
  assert.equal(decoder.decode(await reader.readExact(2)), "ab");
  const error = await reader.read().catch((e) => e);
  assert.ok(error instanceof Deno.errors.ConnectionReset);
  assert.equal(
    error.message,
    'Cannot read from "peer:1": connection reset by peer',
  );
});

Deno.test("BufferedReader views stay valid while it reads on", async () => {
  const reader = new BufferedReader(half("0123456789".repeat(1000)));
  const views: Uint8Array[] = [];
  for (let chunk; (chunk = await reader.read(7)) !== null;) views.push(chunk);
  assert.equal(
    views.map((view) => decoder.decode(view)).join(""),
    "0123456789".repeat(1000),
  );
});

Deno.test("BufferedReader with a fixed buffer reuses it in place", async () => {
  const buffer = new Uint8Array(16);
  const reader = new BufferedReader(
    half("one\ntwo\nthree\n" + "x".repeat(40)),
    {
      buffer,
    },
  );
  const first = await reader.readUntil(encoder.encode("\n"), 15);
  assert.equal(first.buffer, buffer.buffer);
  assert.equal(decoder.decode(first), "one\n");
  assert.equal(await reader.readLine(15), "two");
  assert.equal(await reader.readLine(15), "three");
  let total = 0;
  for (let chunk; (chunk = await reader.read()) !== null;) {
    assert.equal(chunk.buffer, buffer.buffer);
    total += chunk.length;
  }
  assert.equal(total, 40);
});

Deno.test("BufferedReader runs one call at a time", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source, { peer: PEER });
  const first = reader.read();
  await assert.rejects(reader.readLine(10), (error: Error) => {
    assert.ok(error instanceof Deno.errors.Busy);
    assert.equal(
      error.message,
      'Cannot read from "peer:1": another read is pending',
    );
    return true;
  });
  source.send("x");
  assert.equal(decoder.decode((await first)!), "x");
});

Deno.test("BufferedReader read with a timeout rejects, and the bytes that arrive later are kept", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source, { peer: PEER });
  await assert.rejects(
    reader.readLine(100, { timeout: 20 }),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.TimedOut);
      assert.equal(
        error.message,
        'Cannot read from "peer:1": timed out after 20 ms',
      );
      return true;
    },
  );
  // The read the source started is still in flight; what it brings is kept.
  assert.equal(source.reads.length, 1);
  source.send("hello ");
  await turn();
  assert.equal(reader.buffered, 6);
  const line = reader.readLine(100);
  // No second read was started while the first was in flight.
  assert.equal(source.reads.length, 1);
  source.send("world\n");
  assert.equal(await line, "hello world");
});

Deno.test("BufferedReader readExact() cancelled halfway keeps what arrived for the next call", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const controller = new AbortController();
  const reading = reader.readExact(10, { signal: controller.signal });
  source.send("12345");
  await turn();
  const reason = new Error("changed my mind");
  controller.abort(reason);
  await assert.rejects(reading, (error) => error === reason);
  assert.equal(reader.buffered, 5);
  const again = reader.readExact(10);
  source.send("67890");
  assert.equal(decoder.decode(await again), "1234567890");
});

Deno.test("BufferedReader returns buffered bytes whatever the signal says", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const first = reader.readLine(10);
  source.send("a\nb");
  assert.equal(await first, "a");
  const reason = new Error("gone");
  const signal = AbortSignal.abort(reason);
  assert.equal(
    decoder.decode((await reader.read(undefined, { signal }))!),
    "b",
  );
  await assert.rejects(reader.read(undefined, { signal }), (e) => e === reason);
  // Nothing was asked of the source for the read that could not wait.
  assert.equal(source.reads.length, 0);
});

Deno.test("BufferedReader.stop() ends waits now and later, after what the source already holds", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const reason = new Deno.errors.Interrupted("shutting down");
  // Bytes the source has when the wait is stopped still arrive.
  const held = reader.readLine(100);
  reader.stop(reason);
  source.send("already here\nand more");
  assert.equal(await held, "already here");
  // Buffered bytes are still returned...
  assert.equal(decoder.decode((await reader.readExact(3))!), "and");
  // ...and a wait for more ends with the reason, leaving what is buffered.
  await assert.rejects(reader.readLine(100), (e) => e === reason);
  assert.equal(decoder.decode((await reader.read())!), " more");
  await assert.rejects(reader.read(), (e) => e === reason);
  // A read that asks to wait on does.
  const shielded = reader.readExact(6, { interruptible: false });
  await turn();
  source.send(" after");
  assert.equal(decoder.decode(await shielded), " after");
});

Deno.test("BufferedReader.stop() wakes a waiting read", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const reason = new Error("stop");
  const waiting = reader.readLine(100);
  await turn();
  reader.stop(reason);
  await assert.rejects(waiting, (e) => e === reason);
  // The source's read is still in flight; its bytes are kept.
  source.send("late\n");
  await turn();
  assert.equal(await reader.readLine(100), "late");
});

Deno.test("BufferedReader.close() ends a waiting read with the end of the stream", async (t) => {
  await t.step(
    "when the source fails the read, as a closed socket does",
    async () => {
      const source = new ManualSource();
      const reader = new BufferedReader(source, { peer: PEER });
      const waiting = reader.read();
      reader.close();
      source.fail(new Deno.errors.Interrupted("operation canceled"));
      assert.equal(await waiting, null);
      assert.equal(await reader.read(), null);
      await assert.rejects(reader.readExact(1), (error: Error) => {
        assert.ok(error instanceof Deno.errors.BadResource);
        assert.equal(
          error.message,
          'Cannot read from "peer:1": the connection is closed',
        );
        return true;
      });
    },
  );
  await t.step("and drops bytes that land after it", async () => {
    const source = new ManualSource();
    const reader = new BufferedReader(source);
    const waiting = reader.readLine(100);
    reader.close();
    source.send("too late\n");
    assert.equal(await waiting, null);
    assert.equal(reader.buffered, 0);
  });
});

Deno.test("BufferedReader.readInto() reads straight into the caller's buffer", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const p = new Uint8Array(64);
  const reading = reader.readInto(p);
  assert.equal(source.reads[0]!.p, p);
  source.send("direct");
  assert.equal(await reading, 6);
  assert.equal(decoder.decode(p.subarray(0, 6)), "direct");
  assert.equal(reader.buffered, 0);
});

Deno.test("BufferedReader.readInto() that is stopped keeps the bytes its read brings", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const p = new Uint8Array(64);
  const reason = new Error("stop");
  const reading = reader.readInto(p);
  await turn();
  reader.stop(reason);
  await assert.rejects(reading, (e) => e === reason);
  source.send("kept");
  await turn();
  const q = new Uint8Array(64);
  assert.equal(await reader.readInto(q), 4);
  assert.equal(decoder.decode(q.subarray(0, 4)), "kept");
});

Deno.test("BufferedReader.readInto() with a timeout reads into its own buffer", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const p = new Uint8Array(64);
  await assert.rejects(
    reader.readInto(p, { timeout: 10 }),
    Deno.errors.TimedOut,
  );
  assert.notEqual(source.reads[0]!.p.buffer, p.buffer);
  source.send("later");
  await turn();
  // The caller's buffer was not written by the read it gave up on.
  assert.deepEqual(p, new Uint8Array(64));
  assert.equal(await reader.readInto(p), 5);
  assert.equal(decoder.decode(p.subarray(0, 5)), "later");
});

Deno.test("BufferedReader gives a source error that came after a cancelled read to the next call", async () => {
  let fail: (error: Error) => void = () => {};
  const source: ByteSource = {
    read: () => new Promise((_, reject) => fail = reject),
  };
  const reader = new BufferedReader(source);
  await assert.rejects(
    reader.read(undefined, { timeout: 5 }),
    Deno.errors.TimedOut,
  );
  fail(new Deno.errors.ConnectionReset("reset"));
  await turn();
  await assert.rejects(reader.read(), Deno.errors.ConnectionReset);
});

Deno.test("BufferedReader refuses a timeout that is not a positive number", async () => {
  const reader = new BufferedReader(chunked("x"));
  for (const timeout of [0, -1, NaN, Infinity]) {
    await assert.rejects(reader.read(undefined, { timeout }), RangeError);
  }
  // The refused call did not leave the reader busy.
  assert.equal(decoder.decode((await reader.read())!), "x");
});

Deno.test("BufferedReader: after a TLS close without close_notify, later reads see the end", async () => {
  const reader = new BufferedReader(
    failing(
      "ab",
      new Deno.errors.UnexpectedEof("peer closed without close_notify"),
    ),
  );
  // The call that meets it hears of it: it may mean a truncation.
  await assert.rejects(reader.readExact(3), Deno.errors.UnexpectedEof);
  // The next sees the stream as ended, with what had arrived.
  const error = await reader.readExact(3).catch((e) => e);
  assert.ok(error instanceof IncompleteReadError);
  assert.equal(decoder.decode(error.partial), "ab");
});
