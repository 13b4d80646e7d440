// Copyright 2026 the tcp authors. MIT license.
// A server on the open internet: admission rules per client address,
// deadlines for slow peers, and a live view (stats, listing, closing by
// predicate). Loopback addresses 127.0.0.2-127.0.0.9 are distinct clients,
// through a python3 helper (Deno.connect cannot bind a local address).
import assert from "node:assert/strict";
import {
  TcpClient,
  type TcpConnection,
  TcpServer,
  type TcpServerOptions,
} from "../mod.ts";

const CLIENT_SCRIPT = new URL("./_loopback_client.py", import.meta.url)
  .pathname;
const cert = Deno.readTextFileSync(
  new URL("./testdata/cert.pem", import.meta.url),
);
const key = Deno.readTextFileSync(
  new URL("./testdata/key.pem", import.meta.url),
);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Greets each admitted client, then echoes its lines. */
async function greet(conn: TcpConnection): Promise<void> {
  await conn.write("hello\n");
  for await (const line of conn.lines()) await conn.write(`${line}\n`);
}

/** A server on 127.0.0.1 that greets; disposing it shuts it down. */
function greetingServer(
  options: TcpServerOptions = {},
): { server: TcpServer; port: number } & AsyncDisposable {
  const server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    ...options,
  });
  const serving = server.serve(greet);
  return {
    server,
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await serving;
    },
  };
}

/**
 * Opens `count` connections from `source` and holds them until disposed;
 * `results` says which were served and which refused.
 */
async function hold(
  source: string,
  port: number,
  count: number,
): Promise<{ results: string[] } & AsyncDisposable> {
  const child = new Deno.Command("python3", {
    args: [CLIENT_SCRIPT, "hold", source, String(port), String(count)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (text.split("\n").length <= count) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
  }
  return {
    results: text.trim().split("\n"),
    async [Symbol.asyncDispose]() {
      await child.stdin.close();
      await lines.cancel();
      await child.status;
    },
  };
}

/** Connects `count` times from `source`, one after another, `intervalMs` apart. */
async function churn(
  source: string,
  port: number,
  count: number,
  intervalMs = 0,
): Promise<{ result: string; ms: number }[]> {
  const { stdout, success } = await new Deno.Command("python3", {
    args: [
      CLIENT_SCRIPT,
      "churn",
      source,
      String(port),
      String(count),
      String(intervalMs),
    ],
  }).output();
  assert.ok(success);
  return new TextDecoder().decode(stdout).trim().split("\n").map((line) => {
    const [result, ms] = line.split(" ");
    return { result: result!, ms: Number(ms) };
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

Deno.test("TcpServer admission caps the connections of one client while others are served", async () => {
  await using s = greetingServer({ admission: { maxPerClient: 5 } });
  await using two = await hold("127.0.0.2", s.port, 6);
  assert.deepEqual(two.results, [
    "served",
    "served",
    "served",
    "served",
    "served",
    "refused",
  ]);
  await using three = await hold("127.0.0.3", s.port, 5);
  assert.deepEqual(three.results, Array(5).fill("served"));
  const stats = s.server.stats();
  assert.equal(stats.accepted, 11);
  assert.equal(stats.active, 10);
  assert.deepEqual(stats.refused, { deny: 0, allow: 0, perClient: 1, rate: 0 });
  assert.deepEqual(stats.topClients, [
    { client: "127.0.0.2", connections: 5 },
    { client: "127.0.0.3", connections: 5 },
  ]);
});

Deno.test("TcpServer admission refuses denied clients and clients not allowed", async () => {
  await using s = greetingServer({
    admission: { deny: ["127.0.0.2"], allow: ["127.0.0.0/29"] },
  });
  assert.deepEqual((await churn("127.0.0.2", s.port, 2)).map((r) => r.result), [
    "refused",
    "refused",
  ]);
  assert.deepEqual((await churn("127.0.0.3", s.port, 2)).map((r) => r.result), [
    "served",
    "served",
  ]);
  // 127.0.0.9 is outside 127.0.0.0/29.
  assert.deepEqual((await churn("127.0.0.9", s.port, 1)).map((r) => r.result), [
    "refused",
  ]);
  assert.deepEqual(s.server.stats().refused, {
    deny: 2,
    allow: 1,
    perClient: 0,
    rate: 0,
  });
});

Deno.test("TcpServer admission holds a reconnect loop to its rate, and other clients do not notice", async () => {
  await using s = greetingServer({
    admission: { rate: { perSecond: 20, burst: 5 } },
  });
  // A quiet client's connections, ten a second (within the rate), before
  // and during another client's reconnect loop.
  const before = await churn("127.0.0.3", s.port, 10, 100);
  const start = performance.now();
  const [loop, during] = await Promise.all([
    churn("127.0.0.2", s.port, 200),
    churn("127.0.0.3", s.port, 10, 100),
  ]);
  const seconds = (performance.now() - start) / 1000;
  const served = loop.filter((r) => r.result === "served").length;
  // The burst, then 20 a second at most.
  assert.ok(served >= 5, `${served} served`);
  assert.ok(served <= 5 + 20 * seconds + 1, `${served} served in ${seconds} s`);
  assert.ok(loop.some((r) => r.result === "refused"));
  assert.equal(s.server.stats().refused.rate, 200 - served);
  // The quiet client was served every time, in about the time as before.
  assert.ok(before.every((r) => r.result === "served"));
  assert.ok(during.every((r) => r.result === "served"));
  const added = median(during.map((r) => r.ms)) -
    median(before.map((r) => r.ms));
  assert.ok(added < 20, `the quiet client's connections took ${added} ms more`);
});

Deno.test("TcpServer firstByteTimeout closes a silent peer", async () => {
  const server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    firstByteTimeout: 200,
  });
  let reason: unknown;
  const serving = server.serve(async (conn) => {
    for await (const line of conn.lines()) await conn.write(`${line}\n`);
    reason = conn.signal.reason;
  });
  await using silent = await TcpClient.connect({ port: server.addr.port });
  await using talker = await TcpClient.connect({ port: server.addr.port });
  await talker.write("hi\n");
  assert.equal(await talker.readLine(), "hi");
  const start = performance.now();
  assert.equal(await silent.read(), null);
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 150 && elapsed < 600, `closed after ${elapsed} ms`);
  assert.ok(reason instanceof Deno.errors.TimedOut);
  assert.match(
    (reason as Error).message,
    /^Connection from "127\.0\.0\.1:\d+" sent nothing within 200 ms$/,
  );
  // The one that spoke is still served.
  await talker.write("still here\n");
  assert.equal(await talker.readLine(), "still here");
  assert.equal(server.stats().closed.firstByte, 1);
  talker.close();
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer writeTimeout closes a peer that stops reading, and the write says why", async () => {
  const errors: unknown[] = [];
  const server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    writeTimeout: 300,
    onError: (error) => errors.push(error),
  });
  let failure: unknown;
  const serving = server.serve(async (conn) => {
    try {
      for (;;) await conn.write(new Uint8Array(64 * 1024));
    } catch (error) {
      failure = error;
      throw error;
    }
  });
  // Reads one byte, then nothing: the socket buffers fill up.
  await using client = await TcpClient.connect({ port: server.addr.port });
  await client.readExact(1);
  while (failure === undefined) await delay(20);
  assert.ok(failure instanceof Deno.errors.TimedOut, String(failure));
  assert.match(
    (failure as Error).message,
    /^Connection from "127\.0\.0\.1:\d+" read nothing of a write for 300 ms$/,
  );
  assert.equal(server.stats().closed.writeStall, 1);
  client.close();
  await server.shutdown();
  await serving;
  // The server's own deadline is not a handler failure.
  assert.deepEqual(errors, []);
});

Deno.test("TcpServer handshakeTimeout gives up on a TLS client that never finishes its handshake", async () => {
  const server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    handshakeTimeout: 200,
  });
  let served = 0;
  const serving = server.serve(() => void served++);
  // A plain TCP client that sends nothing: no ClientHello ever comes.
  await using silent = await TcpClient.connect({ port: server.addr.port });
  const start = performance.now();
  while (server.stats().closed.handshake === 0) {
    assert.ok(performance.now() - start < 2000, "still waiting after 2 s");
    await delay(10);
  }
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 150, `gave up after ${elapsed} ms`);
  assert.equal(served, 0);
  assert.equal(server.stats().active, 0);
  // Deno 2.9.6 finishes a TLS handshake before it closes the socket
  // (denoland/deno#14547), so the client sees nothing until it acts itself.
  silent.close();
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer.closeConnections() closes exactly the connections picked", async () => {
  await using s = greetingServer();
  await using two = await hold("127.0.0.2", s.port, 3);
  await using three = await hold("127.0.0.3", s.port, 2);
  assert.equal(s.server.openConnections().length, 5);
  const closed = s.server.closeConnections((conn) =>
    conn.remoteAddr.hostname === "127.0.0.2"
  );
  assert.equal(closed, 3);
  await delay(20);
  const left = s.server.openConnections();
  assert.equal(left.length, 2);
  assert.ok(left.every((conn) => conn.remoteAddr.hostname === "127.0.0.3"));
  assert.equal(s.server.stats().closed.closedByServer, 3);
  assert.deepEqual(s.server.stats().topClients, [
    { client: "127.0.0.3", connections: 2 },
  ]);
  assert.equal(two.results.length + three.results.length, 5);
});

Deno.test("TcpServer.stats() counts bytes and handler errors", async () => {
  const server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    onError: () => {},
  });
  const serving = server.serve(async (conn) => {
    const line = await conn.readLine();
    if (line === "fail") throw new Error("as asked");
    await conn.write(`${line}!\n`);
  });
  for (const line of ["one", "fail", "three"]) {
    await using client = await TcpClient.connect({ port: server.addr.port });
    await client.write(`${line}\n`);
    await client.read();
  }
  await server.shutdown();
  await serving;
  const stats = server.stats();
  assert.equal(stats.accepted, 3);
  assert.equal(stats.active, 0);
  assert.equal(stats.handlerErrors, 1);
  assert.equal(stats.bytesRead, "one\nfail\nthree\n".length);
  assert.equal(stats.bytesWritten, "one!\nthree!\n".length);
});

Deno.test("TcpServer.listen() checks the admission and deadline options", () => {
  const bad: TcpServerOptions[] = [
    { admission: { maxPerClient: 0 } },
    { admission: { rate: { perSecond: 0, burst: 1 } } },
    { admission: { rate: { perSecond: 1, burst: 0 } } },
    { admission: { ipv6Prefix: 129 } },
    { admission: { deny: ["10.0.0.1/8"] } },
    { firstByteTimeout: 0 },
    { writeTimeout: -1 },
    { handshakeTimeout: NaN },
  ];
  for (const options of bad) {
    assert.throws(
      () => TcpServer.listen({ hostname: "127.0.0.1", port: 0, ...options }),
      RangeError,
      JSON.stringify(options),
    );
  }
  assert.throws(
    () =>
      TcpServer.listen({
        hostname: "127.0.0.1",
        port: 0,
        cert,
        key,
        proxyProtocol: { trusted: ["127.0.0.1"] },
      }),
    TypeError,
  );
});
