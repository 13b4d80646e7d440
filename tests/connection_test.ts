// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import {
  IncompleteReadError,
  LimitExceededError,
  TcpClient,
  TcpConnection,
  TcpServer,
} from "../mod.ts";

const decoder = new TextDecoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Connects a client to a one-connection server and hands both ends to `fn`;
 * closes both and waits for the server to finish, whatever happens.
 */
async function withPair(
  fn: (client: TcpClient, peer: TcpConnection) => Promise<void>,
): Promise<void> {
  const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const iterator = server[Symbol.asyncIterator]();
    const accepted = iterator.next();
    await using client = await TcpClient.connect({ port: server.addr.port });
    const { value: peer } = await accepted;
    assert.ok(peer);
    try {
      await fn(client, peer);
    } finally {
      peer.close();
      await iterator.return();
    }
  } finally {
    await server.close();
  }
}

function bytes(n: number, seed = 1): Uint8Array {
  const data = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

Deno.test("TcpConnection.read() returns what arrives, then null forever", async () => {
  await withPair(async (client, peer) => {
    await peer.write("hello");
    await peer.closeWrite();
    let received = "";
    for (let chunk; (chunk = await client.read(2)) !== null;) {
      assert.ok(chunk.length <= 2);
      received += decoder.decode(chunk);
    }
    assert.equal(received, "hello");
    assert.equal(await client.read(), null);
    assert.equal(await client.read(), null);
  });
});

Deno.test("TcpConnection.read() rejects a bad maxBytes at once", async () => {
  await withPair(async (client) => {
    await assert.rejects(client.read(0), RangeError);
    await assert.rejects(client.read(1.5), RangeError);
  });
});

Deno.test("TcpConnection.read() results stay intact after later reads", async () => {
  await withPair(async (client, peer) => {
    const chunks: Uint8Array[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const text = `message ${i};`;
      expected.push(text);
      await peer.write(text);
      // Read in small pieces so that one buffer serves many reads.
      let got = "";
      while (got.length < text.length) {
        const chunk = await client.read(text.length - got.length);
        assert.ok(chunk);
        chunks.push(chunk);
        got += decoder.decode(chunk);
      }
    }
    assert.equal(
      chunks.map((c) => decoder.decode(c)).join(""),
      expected.join(""),
    );
  });
});

Deno.test("TcpConnection.readExact() reads exactly n bytes across writes", async () => {
  await withPair(async (client, peer) => {
    const data = bytes(300_000);
    const writing = (async () => {
      for (let i = 0; i < data.length; i += 7000) {
        await peer.write(data.subarray(i, i + 7000));
      }
    })();
    assert.deepEqual(await client.readExact(10), data.subarray(0, 10));
    assert.deepEqual(
      await client.readExact(299_990),
      data.subarray(10),
    );
    assert.deepEqual(await client.readExact(0), new Uint8Array(0));
    await writing;
  });
});

Deno.test("TcpConnection.readExact() reports a short stream with what arrived", async () => {
  await withPair(async (client, peer) => {
    await peer.write("abc");
    await peer.closeWrite();
    const error = await client.readExact(5).catch((e) => e);
    assert.ok(error instanceof IncompleteReadError);
    assert.equal(decoder.decode(error.partial), "abc");
    assert.equal(error.expected, 5);
    assert.match(error.message, /5 bytes from "127\.0\.0\.1:\d+".*after 3/);
    await assert.rejects(client.readExact(-1), RangeError);
  });
});

Deno.test("TcpConnection.readLine() splits on LF and CRLF and returns the unterminated rest", async () => {
  await withPair(async (client, peer) => {
    await peer.write("one\r\ntwo\n\nthr");
    await peer.write("ee\r\nlast");
    await peer.closeWrite();
    const lines = [];
    for await (const line of client.lines()) lines.push(line);
    assert.deepEqual(lines, ["one", "two", "", "three", "last"]);
    assert.equal(await client.readLine(), null);
  });
});

Deno.test("TcpConnection.readLine() decodes UTF-8 split across writes", async () => {
  await withPair(async (client, peer) => {
    const encoded = new TextEncoder().encode("héllo wörld ✓\n");
    await peer.write(encoded.subarray(0, 2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await peer.write(encoded.subarray(2));
    assert.equal(await client.readLine(), "héllo wörld ✓");
  });
});

Deno.test("TcpConnection.readLine() rejects a line over the limit and stays bounded", async () => {
  await withPair(async (client, peer) => {
    // A peer that never sends a newline must not make us buffer it all.
    const writing = peer.write(new Uint8Array(8 * 1024 * 1024).fill(0x61))
      .catch(() => {});
    const error = await client.readLine().catch((e) => e);
    assert.ok(error instanceof LimitExceededError);
    assert.equal(error.limit, 65536);
    assert.match(error.message, /no delimiter within 65536 bytes/);
    assert.ok(
      client.bytesRead <= 65536 + 512 * 1024,
      `read ${client.bytesRead} bytes`,
    );
    client.close();
    peer.close();
    await writing;
  });
});

Deno.test("TcpConnection.readLine() honours maxLength exactly", async () => {
  await withPair(async (client, peer) => {
    await peer.write("12345\r\n123456\n");
    assert.equal(await client.readLine({ maxLength: 5 }), "12345");
    await assert.rejects(client.readLine({ maxLength: 5 }), LimitExceededError);
    await assert.rejects(client.readLine({ maxLength: 0 }), RangeError);
  });
});

Deno.test("TcpConnection.readUntil() finds a delimiter split across reads", async () => {
  await withPair(async (client, peer) => {
    await peer.write("abc--");
    await new Promise((resolve) => setTimeout(resolve, 10));
    await peer.write("==def--==");
    assert.equal(decoder.decode(await client.readUntil("--==")), "abc--==");
    assert.equal(decoder.decode(await client.readUntil("--==")), "def--==");
    await peer.write("tail");
    await peer.closeWrite();
    const error = await client.readUntil("--==").catch((e) => e);
    assert.ok(error instanceof IncompleteReadError);
    assert.equal(decoder.decode(error.partial), "tail");
    await assert.rejects(client.readUntil(""), TypeError);
  });
});

Deno.test("TcpConnection.readUntil() rejects when the limit passes without a delimiter", async () => {
  await withPair(async (client, peer) => {
    await peer.write("x".repeat(100) + "\0");
    await assert.rejects(
      client.readUntil("\0", { maxLength: 50 }),
      LimitExceededError,
    );
  });
});

Deno.test("TcpConnection reads are one at a time", async () => {
  await withPair(async (client, peer) => {
    const first = client.read();
    await assert.rejects(client.read(), Deno.errors.Busy);
    await peer.write("x");
    assert.equal(decoder.decode((await first)!), "x");
  });
});

Deno.test("TcpConnection.write() writes everything, however large", async () => {
  await withPair(async (client, peer) => {
    const data = bytes(20 * 1024 * 1024, 7);
    const reading = peer.readExact(data.length);
    await client.write(data);
    assert.deepEqual(await reading, data);
    assert.equal(client.bytesWritten, data.length);
    assert.equal(peer.bytesRead, data.length);
  });
});

Deno.test("TcpConnection.write() queues concurrent writes without interleaving", async () => {
  await withPair(async (client, peer) => {
    const size = 4 * 1024 * 1024;
    const writes = ["a", "b", "c"].map((c) =>
      client.write(new Uint8Array(size).fill(c.charCodeAt(0)))
    );
    const received = await peer.readExact(3 * size);
    await Promise.all(writes);
    for (let i = 0; i < 3; i++) {
      const part = received.subarray(i * size, (i + 1) * size);
      assert.ok(part.every((b) => b === "abc".charCodeAt(i)));
    }
  });
});

Deno.test("TcpConnection.closeWrite() half-closes and still reads the reply", async () => {
  await withPair(async (client, peer) => {
    await client.write("request");
    await client.closeWrite();
    let request = "";
    for (let chunk; (chunk = await peer.read()) !== null;) {
      request += decoder.decode(chunk);
    }
    assert.equal(request, "request");
    await peer.write("reply");
    peer.close();
    assert.equal(decoder.decode(await client.readExact(5)), "reply");
    assert.equal(await client.read(), null);
    await assert.rejects(client.write("more"), Error);
  });
});

Deno.test("TcpConnection.close() is idempotent and ends pending reads with null", async () => {
  await withPair(async (client) => {
    const pending = client.read();
    client.close();
    client.close();
    assert.equal(await pending, null);
    assert.equal(await client.read(), null);
    assert.equal(await client.readLine(), null);
    await client.closed;
    assert.ok(client.signal.aborted);
    await assert.rejects(client.write("x"), (error: Error) => {
      assert.ok(error instanceof Deno.errors.BadResource);
      assert.match(error.message, /Cannot write to "127\.0\.0\.1:\d+"/);
      return true;
    });
    await client.closeWrite();
    client.setNoDelay(true);
    client.setKeepAlive(true);
  });
});

Deno.test("TcpConnection.close() during a blocked write rejects the write", async () => {
  await withPair(async (client) => {
    // Nobody reads the other end, so a large write blocks.
    const writing = client.write(new Uint8Array(64 * 1024 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.close();
    await assert.rejects(writing, Deno.errors.BadResource);
  });
});

Deno.test("TcpConnection reports the peer's reset as an error naming the peer", async () => {
  await withPair(async (client, peer) => {
    peer.close();
    // Writing into a closed peer resets the connection; some write fails.
    const error = await (async () => {
      for (let i = 0; i < 1000; i++) {
        await client.write(new Uint8Array(64 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })().catch((e) => e);
    assert.ok(error instanceof Error);
    assert.match(error.message, /Cannot write to "127\.0\.0\.1:\d+": /);
  });
});

Deno.test("TcpConnection.readable starts with buffered bytes and leaves the socket open", async () => {
  await withPair(async (client, peer) => {
    await peer.write("first line\nrest of it");
    assert.equal(await client.readLine(), "first line");
    const reader = client.readable.getReader();
    const { value } = await reader.read();
    assert.ok(decoder.decode(value).startsWith("rest"));
    await reader.cancel();
    // Cancelling the stream did not close the connection.
    await client.write("still here");
    assert.equal(decoder.decode(await peer.readExact(10)), "still here");
  });
});

Deno.test("TcpConnection.writable closes only the write side", async () => {
  await withPair(async (client, peer) => {
    await ReadableStream.from([new TextEncoder().encode("via stream")])
      .pipeTo(client.writable);
    assert.equal(await new Response(peer.readable).text(), "via stream");
    await peer.write("answer");
    assert.equal(decoder.decode(await client.readExact(6)), "answer");
  });
});

Deno.test("TcpConnection exposes addresses and byte counts", async () => {
  await withPair(async (client, peer) => {
    assert.equal(client.remoteAddr.port, peer.localAddr.port);
    assert.equal(peer.remoteAddr.port, client.localAddr.port);
    assert.equal(client.remoteAddr.hostname, "127.0.0.1");
    await client.write("12345");
    await peer.readExact(5);
    assert.equal(client.bytesWritten, 5);
    assert.equal(peer.bytesRead, 5);
  });
});

Deno.test("TcpConnection wraps a raw Deno connection", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  using conn = new TcpConnection(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  using peer = new TcpConnection(await accepted);
  await conn.write("raw\n");
  assert.equal(await peer.readLine(), "raw");
});

Deno.test("TcpConnection.readExact() does not allocate what the peer only announces", async () => {
  await withPair(async (client, peer) => {
    await peer.write("0123456789");
    const before = Deno.memoryUsage().external;
    const reading = client.readExact(2_000_000_000).catch((e) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const grown = Deno.memoryUsage().external - before;
    assert.ok(grown < 64 * 1024 * 1024, `grew by ${grown} bytes`);
    await peer.closeWrite();
    const error = await reading;
    assert.ok(error instanceof IncompleteReadError);
    assert.equal(error.partial.length, 10);
  });
});

Deno.test("TcpConnection.readUntil() finds a delimiter after many megabytes in linear time", async () => {
  await withPair(async (client, peer) => {
    const size = 32 * 1024 * 1024;
    const writing = peer.write(new Uint8Array(size).fill(0x61))
      .then(() => peer.write("\0"));
    const piece = await client.readUntil("\0", { maxLength: size });
    assert.equal(piece.length, size + 1);
    await writing;
  });
});

Deno.test("TcpConnection.read() is Busy while another read waits on buffered bytes", async () => {
  await withPair(async (client, peer) => {
    await peer.write("abc");
    const line = client.readLine();
    await assert.rejects(client.read(), Deno.errors.Busy);
    await peer.write("def\n");
    assert.equal(await line, "abcdef");
  });
});

Deno.test("TcpConnection.readLine() consumes nothing when a line is too long", async () => {
  await withPair(async (client, peer) => {
    await peer.write("123456\nok\n");
    await assert.rejects(client.readLine({ maxLength: 5 }), LimitExceededError);
    // The long line is still there for a caller that wants it.
    assert.equal(await client.readLine({ maxLength: 6 }), "123456");
    assert.equal(await client.readLine(), "ok");
  });
});

Deno.test("TcpConnection.readLine() keeps a leading byte order mark", async () => {
  await withPair(async (client, peer) => {
    await peer.write("\uFEFFabc\n");
    assert.equal(await client.readLine(), "\uFEFFabc");
  });
});

Deno.test("TcpConnection.readable cancelled mid-read loses no bytes", async () => {
  await withPair(async (client, peer) => {
    const reader = client.readable.getReader();
    const pending = reader.read();
    await reader.cancel();
    await pending;
    await peer.write("important\n");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await client.readLine(), "important");
    // A new stream starts where the reads left off.
    await peer.write("next");
    await peer.closeWrite();
    assert.equal(await new Response(client.readable).text(), "next");
  });
});

Deno.test("TcpConnection views stay intact while readLine() reuses the buffer", async () => {
  await withPair(async (client, peer) => {
    await peer.write("head:");
    const view = await client.readExact(5);
    const lines: string[] = [];
    const writing = (async () => {
      for (let i = 0; i < 2000; i++) await peer.write(`line ${i}\n`);
    })();
    for (let i = 0; i < 2000; i++) lines.push((await client.readLine())!);
    await writing;
    assert.equal(decoder.decode(view), "head:");
    assert.equal(lines[1999], "line 1999");
    assert.deepEqual(
      lines,
      Array.from({ length: 2000 }, (_, i) => `line ${i}`),
    );
  });
});

Deno.test("TcpConnection.copyTo() echoes byte-exact data, buffered bytes first", async () => {
  await withPair(async (client, peer) => {
    const data = bytes(12 * 1024 * 1024, 3);
    await client.write("first line\n");
    await client.write(data.subarray(0, 1000));
    assert.equal(await peer.readLine(), "first line");
    const copying = peer.copyTo(peer);
    await assert.rejects(peer.read(), Deno.errors.Busy);
    const [, echoed] = await Promise.all([
      client.write(data.subarray(1000)).then(() => client.closeWrite()),
      client.readExact(data.length),
    ]);
    assert.deepEqual(echoed, data);
    assert.equal(await copying, data.length);
  });
});

Deno.test("TcpConnection.copyTo() relays between two connections", async () => {
  await withPair(async (a, aPeer) => {
    await withPair(async (b, bPeer) => {
      const relaying = aPeer.copyTo(bPeer);
      await a.write("through the relay");
      await a.closeWrite();
      assert.equal(await relaying, 17);
      await bPeer.closeWrite();
      assert.equal(await new Response(b.readable).text(), "through the relay");
    });
  });
});

Deno.test("TcpConnection.copyTo() ends when its connection is closed", async () => {
  await withPair(async (client, peer) => {
    const copying = peer.copyTo(peer);
    await client.write("x");
    assert.equal(decoder.decode(await client.readExact(1)), "x");
    peer.close();
    assert.equal(await copying, 1);
  });
});

Deno.test("TcpConnection read with a 50 ms timeout times out, then a later read returns the bytes sent after it", async () => {
  await withPair(async (client, peer) => {
    const start = performance.now();
    await assert.rejects(client.readLine({ timeout: 50 }), (error: Error) => {
      assert.ok(error instanceof Deno.errors.TimedOut);
      assert.match(
        error.message,
        /^Cannot read from "127\.0\.0\.1:\d+": timed out after 50 ms$/,
      );
      return true;
    });
    assert.ok(performance.now() - start >= 45);
    await peer.write("after the timeout\n");
    assert.equal(await client.readLine(), "after the timeout");
  });
});

Deno.test("TcpConnection read cancelled by its signal leaves the connection usable", async () => {
  await withPair(async (client, peer) => {
    const controller = new AbortController();
    const reading = client.readExact(10, { signal: controller.signal });
    await peer.write("12345");
    await delay(20);
    const reason = new Error("no longer needed");
    controller.abort(reason);
    await assert.rejects(reading, (error) => error === reason);
    // What had arrived is still there, in order, with what comes next.
    await peer.write("67890");
    assert.equal(decoder.decode(await client.readExact(10)), "1234567890");
  });
});

Deno.test("TcpConnection reads that wait end when the connection is interrupted, and writes go on", async (t) => {
  const reads: Record<string, (conn: TcpConnection) => Promise<unknown>> = {
    "read()": (conn) => conn.read(),
    "readInto()": (conn) => conn.readInto(new Uint8Array(16)),
    "readLine()": (conn) => conn.readLine(),
    "lines()": async (conn) => {
      for await (const _ of conn.lines());
    },
    "readUntil()": (conn) => conn.readUntil("\0"),
    "readExact()": (conn) => conn.readExact(4),
    "copyTo()": (conn) => conn.copyTo(conn),
  };
  for (const [name, read] of Object.entries(reads)) {
    await t.step(name, async () => {
      await withPair(async (client, peer) => {
        const reading = read(peer);
        await delay(10);
        const reason = new Deno.errors.Interrupted("shutting down");
        peer.interrupt(reason);
        await assert.rejects(reading, (error) => error === reason);
        assert.equal(peer.signal.reason, reason);
        // The connection is open: the goodbye gets through.
        await peer.write("bye\n");
        assert.equal(await client.readLine(), "bye");
      });
    });
  }
});

Deno.test("TcpConnection.interrupt() still returns what has arrived, then ends waits", async () => {
  await withPair(async (client, peer) => {
    await client.write("one\ntwo\nhalf");
    await delay(20);
    peer.interrupt();
    assert.equal(await peer.readLine(), "one");
    assert.equal(await peer.readLine(), "two");
    await assert.rejects(peer.readLine(), Deno.errors.Interrupted);
    // A read in the middle of a message can choose to wait on.
    const rest = peer.readLine({ interruptible: false });
    await delay(10);
    await client.write(" and half\n");
    assert.equal(await rest, "half and half");
  });
});

Deno.test("TcpConnection.readable cancelled mid-read releases its read at once", async () => {
  await withPair(async (client, peer) => {
    const reader = client.readable.getReader();
    const pending = reader.read();
    await reader.cancel();
    await pending;
    // No Busy: the read the stream was waiting on has ended.
    const line = client.readLine();
    await peer.write("next\n");
    assert.equal(await line, "next");
  });
});
