// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import {
  MaxConnectionAgeError,
  NameResolutionError,
  TcpClient,
  type TcpConnection,
  TcpServer,
} from "../mod.ts";

const decoder = new TextDecoder();
const cert = Deno.readTextFileSync(
  new URL("./testdata/cert.pem", import.meta.url),
);
const key = Deno.readTextFileSync(
  new URL("./testdata/key.pem", import.meta.url),
);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function echo(conn: TcpConnection): Promise<void> {
  for (let data; (data = await conn.read()) !== null;) await conn.write(data);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await delay(5);
  }
  throw new Error(`Timed out waiting until ${what}`);
}

function bytes(n: number, seed: number): Uint8Array {
  const data = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

Deno.test("TcpServer.serve() echoes byte-exact data to many concurrent clients", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(echo);
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    await using client = await TcpClient.connect({ port: server.addr.port });
    const data = bytes(200_000 + i * 1000, i + 1);
    const [, received] = await Promise.all([
      client.write(data).then(() => client.closeWrite()),
      client.readExact(data.length),
    ]);
    assert.deepEqual(received, data);
    assert.equal(await client.read(), null);
  }));
  assert.deepEqual(await server.shutdown(), {
    drained: 0,
    cut: 0,
    abandoned: 0,
  });
  await serving;
});

Deno.test("TcpServer.serve() reports a throwing handler and keeps serving", async () => {
  const errors: [unknown, TcpConnection | undefined][] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    onError: (error, conn) => errors.push([error, conn]),
  });
  const serving = server.serve(async (conn) => {
    const line = await conn.readLine();
    if (line === "throw") throw new Error("handler exploded");
    if (line === "reject") return Promise.reject(new TypeError("rejected"));
    await conn.write(`ok ${line}\n`);
  });
  for (const word of ["throw", "reject"]) {
    await using bad = await TcpClient.connect({ port: server.addr.port });
    await bad.write(`${word}\n`);
    // The failed handler's connection is closed.
    assert.equal(await bad.read(), null);
  }
  await using good = await TcpClient.connect({ port: server.addr.port });
  await good.write("fine\n");
  assert.equal(await good.readLine(), "ok fine");
  assert.equal(errors.length, 2);
  assert.equal((errors[0][0] as Error).message, "handler exploded");
  assert.ok(errors[1][0] instanceof TypeError);
  assert.equal(errors[0][1]?.remoteAddr.hostname, "127.0.0.1");
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer reports a failed handler with one line naming the peer by default", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = server.serve(() => {
      throw new Error("boom");
    });
    await using client = await TcpClient.connect({ port: server.addr.port });
    assert.equal(await client.read(), null);
    await server.shutdown();
    await serving;
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      new RegExp(
        `^TcpServer: handler for "127\\.0\\.0\\.1:${client.localAddr.port}" failed: boom$`,
      ),
    );
  } finally {
    console.error = original;
  }
});

Deno.test("TcpServer.shutdown() waits for handlers", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  let sawAbort = false;
  const serving = server.serve(async (conn) => {
    await conn.readLine();
    conn.signal.addEventListener("abort", () => sawAbort = true);
    // Mid-reply when the shutdown starts.
    await conn.write("part one, ");
    await delay(200);
    await conn.write("part two\n");
  });
  await using client = await TcpClient.connect({ port: server.addr.port });
  await client.write("go\n");
  await until(() => client.bytesRead > 0 || server.connections > 0, "served");
  await delay(20);
  const result = await server.shutdown({ timeout: 5000 });
  assert.deepEqual(result, { drained: 1, cut: 0, abandoned: 0 });
  assert.ok(sawAbort, "the handler was told through conn.signal");
  assert.equal(await client.readLine(), "part one, part two");
  assert.equal(await client.read(), null);
  await serving;
  assert.equal(server.connections, 0);
});

Deno.test("TcpServer.shutdown() cuts handlers still running at the timeout", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    await conn.write("hello\n");
    // Ignores conn.signal and waits for a line that never comes.
    await conn.readLine({ interruptible: false });
  });
  await using fast = await TcpClient.connect({ port: server.addr.port });
  await using slow = await TcpClient.connect({ port: server.addr.port });
  assert.equal(await fast.readLine(), "hello");
  assert.equal(await slow.readLine(), "hello");
  await until(() => server.connections === 2, "both are served");
  const shutdown = server.shutdown({ timeout: 200 });
  // One client finishes in time, the other does not.
  fast.close();
  const result = await shutdown;
  assert.deepEqual(result, { drained: 1, cut: 1, abandoned: 0 });
  assert.equal(await slow.read(), null);
  await serving;
  assert.equal(server.connections, 0);
});

Deno.test("TcpServer.shutdown() frees the port at once while connections go on", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addr;
  // Reads that the shutdown does not end: the connection goes on.
  const serving = server.serve(async (conn) => {
    const options = { interruptible: false };
    for (let data; (data = await conn.read(undefined, options)) !== null;) {
      await conn.write(data);
    }
  });
  await using client = await TcpClient.connect({ port });
  await client.write("before\n");
  assert.equal(await client.readLine(), "before");
  const shutdown = server.shutdown({ timeout: 5000 });
  // The listener is closed: new clients are refused, the port can be reused.
  await until(() => {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return true;
    } catch {
      return false;
    }
  }, "the port is free");
  await assert.rejects(
    TcpClient.connect({ port }),
    Deno.errors.ConnectionRefused,
  );
  // The open connection still works.
  await client.write("during\n");
  assert.equal(await client.readLine(), "during");
  client.close();
  assert.deepEqual(await shutdown, { drained: 1, cut: 0, abandoned: 0 });
  await serving;
});

Deno.test("TcpServer.close() closes every connection now", async () => {
  const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(echo);
  await using client = await TcpClient.connect({ port: server.addr.port });
  await client.write("x");
  await client.readExact(1);
  await server.close();
  assert.equal(await client.read(), null);
  await serving;
  await server.finished;
});

Deno.test("TcpServer iteration hands out connections that outlive the listener", async () => {
  const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = await TcpClient.connect({ port: server.addr.port });
  let accepted: TcpConnection | undefined;
  for await (const conn of server) {
    accepted = conn;
    break;
  }
  assert.ok(accepted);
  assert.equal(server.connections, 1);
  const shutdown = server.shutdown();
  await accepted.write("still open\n");
  assert.equal(await client.readLine(), "still open");
  accepted.close();
  assert.deepEqual(await shutdown, { drained: 1, cut: 0, abandoned: 0 });
  await server.finished;
});

Deno.test("TcpServer may be iterated or served by one consumer at a time", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(() => {});
  await assert.rejects(server.serve(() => {}), TypeError);
  await assert.rejects(server[Symbol.asyncIterator]().next(), TypeError);
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer maxConnections holds new clients in the backlog until a slot frees", async () => {
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 2,
  });
  const serving = server.serve(async (conn) => {
    await conn.write("Welcome!\n");
    await conn.readLine();
  });
  await using first = await TcpClient.connect({ port: server.addr.port });
  await using second = await TcpClient.connect({ port: server.addr.port });
  assert.equal(await first.readLine(), "Welcome!");
  assert.equal(await second.readLine(), "Welcome!");
  // The third connects (the kernel queues it) but is not accepted.
  await using third = await TcpClient.connect({ port: server.addr.port });
  const welcome = third.readLine();
  const early = await Promise.race([welcome, delay(300).then(() => "none")]);
  assert.equal(early, "none");
  assert.equal(server.connections, 2);
  first.close();
  assert.equal(await welcome, "Welcome!");
  assert.equal(server.connections, 2);
  await server.shutdown({ timeout: 0 });
  await serving;
});

Deno.test("TcpServer idleTimeout closes connections without progress", async () => {
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 150,
  });
  let reason: unknown;
  const serving = server.serve(async (conn) => {
    await echo(conn);
    reason = conn.signal.reason;
  });
  await using idle = await TcpClient.connect({ port: server.addr.port });
  await using busy = await TcpClient.connect({ port: server.addr.port });
  const idleEnded = idle.read();
  // The busy client makes progress every 30 ms for 600 ms and survives.
  for (let i = 0; i < 20; i++) {
    await busy.write("ping");
    assert.equal(decoder.decode(await busy.readExact(4)), "ping");
    await delay(30);
  }
  assert.equal(await idleEnded, null);
  assert.ok(reason instanceof Deno.errors.TimedOut);
  assert.match((reason as Error).message, /idle for 150 ms/);
  assert.equal(server.connections, 1);
  busy.close();
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer signal shuts the server down gracefully", async () => {
  const controller = new AbortController();
  const server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
  const serving = server.serve(async (conn) => {
    await conn.write("hi\n");
    await new Promise((resolve) =>
      conn.signal.addEventListener("abort", resolve)
    );
    await conn.write("bye\n");
  });
  await using client = await TcpClient.connect({ port: server.addr.port });
  assert.equal(await client.readLine(), "hi");
  controller.abort();
  assert.equal(await client.readLine(), "bye");
  await serving;
  await server.finished;
});

Deno.test("TcpServer.listen() validates its options at once", () => {
  assert.throws(() => TcpServer.listen({ port: 70000 }), RangeError);
  assert.throws(() => TcpServer.listen({ port: -1 }), RangeError);
  assert.throws(() => TcpServer.listen({ port: 1.5 }), RangeError);
  assert.throws(
    () => TcpServer.listen({ port: 0, maxConnections: 0 }),
    RangeError,
  );
  assert.throws(
    () => TcpServer.listen({ port: 0, idleTimeout: -5 }),
    RangeError,
  );
  assert.throws(() => TcpServer.listen({ port: 0, cert }), TypeError);
});

Deno.test("TcpServer.listen() names the address that is in use", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addr;
  assert.throws(
    () => TcpServer.listen({ hostname: "127.0.0.1", port }),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.AddrInUse);
      assert.match(
        error.message,
        new RegExp(
          `^Cannot listen on "127\\.0\\.0\\.1:${port}": address already in use`,
          "i",
        ),
      );
      return true;
    },
  );
});

Deno.test("TcpServer speaks TLS with a certificate", async () => {
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    onError: () => {},
  });
  const serving = server.serve(echo);
  await using client = await TcpClient.connect({
    hostname: "localhost",
    port: server.addr.port,
    tls: { caCerts: [cert] },
  });
  await client.write("secret\n");
  assert.equal(await client.readLine(), "secret");
  client.close();
  await assert.rejects(
    TcpClient.connect({ port: server.addr.port, tls: true }),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.InvalidData);
      assert.match(error.message, /^Cannot connect to "127\.0\.0\.1:\d+": /);
      return true;
    },
  );
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer keeps accepting after running out of file descriptors, even right after it starts", async () => {
  // A child process with few descriptors runs an echo server and is flooded
  // within its first milliseconds. The runtime sets up its signal handling
  // lazily about half a second after start and used to panic then, with no
  // descriptor left; the flood is held for longer than that.
  const script = new URL("./_emfile_server.ts", import.meta.url).pathname;
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 64 && exec "${Deno.execPath()}" run --allow-net "${script}"`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const clients: TcpClient[] = [];
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await stdout.read();
      if (done) break;
      text += value;
    }
    const port = Number(text.match(/listening on 127\.0\.0\.1:(\d+)/)?.[1]);
    assert.ok(port > 0, `no port in ${JSON.stringify(text)}`);
    // More clients than the child has descriptors for.
    for (let i = 0; i < 80; i++) {
      clients.push(await TcpClient.connect({ port }));
    }
    await delay(1500);
    for (const client of clients) client.close();
    clients.length = 0;
    // The process and its accept loop survived: a new client is served.
    await using client = await TcpClient.connect({ port, timeout: 5000 });
    await client.write("alive\n");
    assert.equal(await client.readLine(), "alive");
  } finally {
    for (const client of clients) client.close();
    child.kill("SIGTERM");
    await stdout.cancel();
    const stderr = await new Response(child.stderr).text();
    const status = await child.status;
    assert.doesNotMatch(stderr, /panicked/);
    assert.match(stderr, /Cannot accept on "127\.0\.0\.1:\d+", retrying in/);
    assert.doesNotMatch(stderr, /^\s+at /m);
    // The library registered no SIGTERM handler: the default one ended it.
    assert.equal(status.signal, "SIGTERM");
  }
});

Deno.test("TcpServer does not report handlers whose connection it cut", async () => {
  const errors: unknown[] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    onError: (error) => errors.push(error),
  });
  const serving = server.serve(async (conn) => {
    // In the middle of a message: the shutdown does not end this read.
    await conn.readExact(4, { interruptible: false });
  });
  await using client = await TcpClient.connect({ port: server.addr.port });
  await until(() => server.connections === 1, "served");
  assert.deepEqual(await server.shutdown({ timeout: 50 }), {
    drained: 0,
    cut: 1,
    abandoned: 0,
  });
  await serving;
  assert.deepEqual(errors, []);
  assert.equal(await client.read(), null);
});

Deno.test("TcpServer.close() during a shutdown counts the connections as cut", async () => {
  const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    await conn.read();
  });
  await using client = await TcpClient.connect({ port: server.addr.port });
  await until(() => server.connections === 1, "served");
  const shutdown = server.shutdown({ timeout: 10_000 });
  await server.close();
  assert.deepEqual(await shutdown, { drained: 0, cut: 1, abandoned: 0 });
  await serving;
  client.close();
});

Deno.test("TcpServer does not report a peer that resets the connection", async () => {
  const errors: unknown[] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    onError: (error) => errors.push(error),
  });
  let failure: unknown;
  const serving = server.serve(async (conn) => {
    try {
      // Keep writing to a client that has gone.
      for (;;) await conn.write(new Uint8Array(64 * 1024));
    } catch (error) {
      failure = error;
      throw error;
    }
  });
  const client = await TcpClient.connect({ port: server.addr.port });
  await client.read();
  client.close();
  await until(() => failure !== undefined, "the handler fails");
  await server.shutdown();
  await serving;
  assert.ok(
    failure instanceof Deno.errors.ConnectionReset ||
      failure instanceof Deno.errors.BrokenPipe,
    String(failure),
  );
  assert.deepEqual(errors, []);
});

Deno.test("TcpServer.shutdown() resolves by its deadline when a handler never returns", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    await conn.write("hi\n");
    // Ignores its connection, its signal and everything else.
    await new Promise(() => {});
  });
  await using client = await TcpClient.connect({ port: server.addr.port });
  assert.equal(await client.readLine(), "hi");
  const start = performance.now();
  const result = await server.shutdown({ timeout: 200 });
  const elapsed = performance.now() - start;
  assert.deepEqual(result, { drained: 0, cut: 1, abandoned: 1 });
  assert.ok(elapsed < 300, `shutdown took ${elapsed.toFixed(0)} ms`);
  await serving;
  await server.finished;
  assert.equal(await client.read(), null);
});

Deno.test("TcpServer.close() resolves at once when a handler never returns", async () => {
  const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(() => new Promise(() => {}));
  await using client = await TcpClient.connect({ port: server.addr.port });
  await until(() => server.connections === 1, "served");
  const start = performance.now();
  await server.close();
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 100, `close took ${elapsed.toFixed(0)} ms`);
  await serving;
  assert.equal(await client.read(), null);
});

/** Reads lines until the shutdown, then says goodbye. */
async function politeEcho(conn: TcpConnection): Promise<void> {
  try {
    for await (const line of conn.lines()) await conn.write(`${line}\n`);
  } catch (error) {
    if (error !== conn.signal.reason) throw error;
    await conn.write("bye\n");
  }
}

Deno.test("TcpServer.shutdown() ends 100 idle handlers at once, each with its goodbye", async () => {
  const errors: unknown[] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    onError: (error) => errors.push(error),
  });
  const serving = server.serve(politeEcho);
  const clients = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const client = await TcpClient.connect({ port: server.addr.port });
      await client.write("hi\n");
      assert.equal(await client.readLine(), "hi");
      return client;
    }),
  );
  try {
    // Every handler now waits in lines() for a line that never comes.
    const start = performance.now();
    const result = await server.shutdown({ timeout: 10_000 });
    const elapsed = performance.now() - start;
    assert.deepEqual(result, { drained: 100, cut: 0, abandoned: 0 });
    assert.ok(elapsed < 100, `shutdown took ${elapsed.toFixed(0)} ms`);
    for (const client of clients) {
      assert.equal(await client.readLine(), "bye");
      assert.equal(await client.read(), null);
    }
    await serving;
    assert.deepEqual(errors, []);
  } finally {
    for (const client of clients) client.close();
  }
});

Deno.test("TcpServer leaves an await using block at once when its clients are idle", async () => {
  let client: TcpClient | undefined;
  let serving: Promise<void> | undefined;
  let start = 0;
  try {
    await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
    serving = server.serve(politeEcho);
    client = await TcpClient.connect({ port: server.addr.port });
    await client.write("hi\n");
    assert.equal(await client.readLine(), "hi");
    start = performance.now();
  } finally {
    // The block's end shut the server down.
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 100, `leaving the block took ${elapsed.toFixed(0)} ms`);
    await serving;
    assert.equal(await client?.readLine(), "bye");
    client?.close();
  }
});

Deno.test("TcpServer signal ends a server with idle clients at once", async () => {
  const controller = new AbortController();
  const server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
  const serving = server.serve(politeEcho);
  await using client = await TcpClient.connect({ port: server.addr.port });
  await client.write("hi\n");
  assert.equal(await client.readLine(), "hi");
  const start = performance.now();
  controller.abort();
  await serving;
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 100, `stopping took ${elapsed.toFixed(0)} ms`);
  assert.equal(await client.readLine(), "bye");
});

Deno.test("TcpServer neither reports nor waits after peers that reset in the backlog", async () => {
  const errors: unknown[] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    onError: (error) => errors.push(error),
  });
  // 50 peers connect and reset before anything accepts them: each makes
  // accept() fail with NotConnected.
  const script = new URL("./_reset_peers.py", import.meta.url).pathname;
  const { success } = await new Deno.Command("python3", {
    args: [script, String(server.addr.port), "50"],
  }).output();
  assert.ok(success);
  const serving = server.serve(echo);
  const start = performance.now();
  await using client = await TcpClient.connect({ port: server.addr.port });
  await client.write("real\n");
  assert.equal(await client.readLine(), "real");
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 100, `the real client waited ${elapsed.toFixed(0)} ms`);
  client.close();
  await server.shutdown();
  await serving;
  assert.deepEqual(errors, []);
});

Deno.test("TcpServer.listen() names a host that does not resolve", () => {
  assert.throws(
    () => TcpServer.listen({ hostname: "-no-such-host.invalid", port: 0 }),
    (error: Error) => {
      assert.ok(error instanceof NameResolutionError);
      assert.equal(error.hostname, "-no-such-host.invalid");
      assert.match(
        error.message,
        /^Cannot listen on "-no-such-host\.invalid:0": cannot resolve the host name: /,
      );
      return true;
    },
  );
});

Deno.test("TcpServer.accept() hands out connections one by one, then null", async () => {
  const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  await using first = await TcpClient.connect({ port: server.addr.port });
  await using second = await TcpClient.connect({ port: server.addr.port });
  for (const client of [first, second]) {
    const conn = await server.accept();
    assert.ok(conn);
    await conn.write("thank you !");
    conn.close();
    assert.equal(decoder.decode(await client.readExact(11)), "thank you !");
  }
  // One caller at a time, and never beside serve().
  const waiting = server.accept();
  await assert.rejects(server.accept(), TypeError);
  await assert.rejects(server.serve(() => {}), TypeError);
  await server.shutdown();
  assert.equal(await waiting, null);
  assert.equal(await server.accept(), null);
});

Deno.test("TcpServer maxConnectionAge interrupts a connection with MaxConnectionAgeError", async () => {
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    maxConnectionAge: 200,
  });
  let reason: unknown;
  const serving = server.serve(async (conn) => {
    try {
      for await (const line of conn.lines()) await conn.write(`${line}\n`);
    } catch (error) {
      reason = error;
      if (error !== conn.signal.reason) throw error;
      await conn.write("please reconnect\n");
    }
  });
  await using client = await TcpClient.connect({ port: server.addr.port });
  const start = performance.now();
  // The exchange goes on until the connection is old enough.
  for (let i = 0; i < 3; i++) {
    await client.write("ping\n");
    assert.equal(await client.readLine(), "ping");
  }
  assert.equal(await client.readLine(), "please reconnect");
  const elapsed = performance.now() - start;
  // 200 ms, give or take 10%, noticed within a quarter of it.
  assert.ok(elapsed >= 170 && elapsed < 400, `ended after ${elapsed} ms`);
  assert.ok(reason instanceof MaxConnectionAgeError);
  assert.ok(reason instanceof Deno.errors.Interrupted);
  assert.match(
    (reason as Error).message,
    /^Connection from "127\.0\.0\.1:\d+" reached its maximum age \(200 ms\)$/,
  );
  assert.equal(await client.read(), null);
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer reusePort says in one line that it needs --unstable-net", () => {
  assert.throws(
    () => TcpServer.listen({ hostname: "127.0.0.1", port: 0, reusePort: true }),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotSupported);
      assert.match(
        error.message,
        /^Cannot listen on "127\.0\.0\.1:0" with reusePort: Deno needs the --unstable-net flag for it/,
      );
      return true;
    },
  );
});

Deno.test("TcpServer reusePort lets two processes serve one port", async () => {
  // Each child listens with reusePort on the port given and answers with
  // its own name; the first one picks the port.
  const script = `
    import { TcpServer } from "${new URL("../mod.ts", import.meta.url).href}";
    const server = TcpServer.listen({
      hostname: "127.0.0.1",
      port: Number(Deno.args[0]),
      reusePort: true,
    });
    console.log(server.addr.port);
    Deno.addSignalListener("SIGTERM", () => server.shutdown());
    await server.serve((conn) => conn.write(Deno.args[1] + "\\n"));
  `;
  const path = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(path, script);
  const start = (port: number, name: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--unstable-net", "--allow-net", path, String(port), name],
      stdout: "piped",
    }).spawn();
  const readPort = async (child: Deno.ChildProcess) => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    return Number(value?.trim());
  };
  const a = start(0, "a");
  const children = [a];
  try {
    const port = await readPort(a);
    const b = start(port, "b");
    children.push(b);
    assert.equal(await readPort(b), port);
    // Linux spreads connections over both.
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < 2; i++) {
      await using client = await TcpClient.connect({ port });
      seen.add((await client.readLine())!);
    }
    assert.deepEqual([...seen].sort(), ["a", "b"]);
  } finally {
    for (const child of children) {
      child.kill("SIGTERM");
      await child.stdout.cancel().catch(() => {});
      await child.status;
    }
    await Deno.remove(path);
  }
});
