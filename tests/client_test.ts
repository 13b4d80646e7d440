// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import { TcpClient, TcpServer } from "../mod.ts";

/** A port with nothing listening on it. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * A listener that never accepts, with its one-slot backlog full, so that the
 * next connect to it hangs.
 */
async function hangingListener(): Promise<AsyncDisposable & { port: number }> {
  const listener = Deno.listen({
    hostname: "127.0.0.1",
    port: 0,
    tcpBacklog: 1,
  });
  const { port } = listener.addr;
  const fillers: Deno.Conn[] = [];
  for (let i = 0; i < 3; i++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 300);
    try {
      fillers.push(
        await Deno.connect({
          hostname: "127.0.0.1",
          port,
          signal: controller.signal,
        }),
      );
    } catch {
      break; // Already full.
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    port,
    [Symbol.asyncDispose]() {
      for (const conn of fillers) conn.close();
      listener.close();
      return Promise.resolve();
    },
  };
}

Deno.test("TcpClient.connect() connects and defaults to 127.0.0.1", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve((conn) => conn.write("Welcome!\n"));
  await using client = await TcpClient.connect({
    port: server.addr.port,
    noDelay: false,
    keepAlive: true,
  });
  assert.equal(client.remoteAddr.hostname, "127.0.0.1");
  assert.equal(client.remoteAddr.port, server.addr.port);
  assert.equal(await client.readLine(), "Welcome!");
  await server.shutdown();
  await serving;
});

Deno.test("TcpClient.connect() names host and port when refused", async () => {
  const port = closedPort();
  await assert.rejects(
    TcpClient.connect({ hostname: "127.0.0.1", port }),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.ConnectionRefused);
      assert.match(
        error.message,
        new RegExp(
          `^Cannot connect to "127\\.0\\.0\\.1:${port}": connection refused`,
          "i",
        ),
      );
      // The runtime's own error, re-thrown: its stack shows the new message.
      assert.match(error.stack ?? "", /^ConnectionRefused: Cannot connect to /);
      return true;
    },
  );
});

Deno.test("TcpClient.connect() names a host that does not resolve", async () => {
  await assert.rejects(
    TcpClient.connect({ hostname: "no-such-host.invalid", port: 80 }),
    (error: Error) => {
      assert.match(
        error.message,
        /^Cannot connect to "no-such-host\.invalid:80": cannot resolve host "no-such-host\.invalid"/,
      );
      return true;
    },
  );
});

Deno.test("TcpClient.connect() times out with host, port and time in the message", async () => {
  await using hanging = await hangingListener();
  const started = performance.now();
  await assert.rejects(
    TcpClient.connect({ port: hanging.port, timeout: 200 }),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.TimedOut);
      assert.equal(
        error.message,
        `Cannot connect to "127.0.0.1:${hanging.port}": timed out after 200 ms`,
      );
      return true;
    },
  );
  // Generous: the point is that it does not wait for the system's timeout.
  assert.ok(performance.now() - started < 5000);
});

Deno.test("TcpClient.connect() is cancelled by its signal", async () => {
  await using hanging = await hangingListener();
  const controller = new AbortController();
  const connecting = TcpClient.connect({
    port: hanging.port,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("user gave up")), 50);
  await assert.rejects(connecting, { message: "user gave up" });
  const aborted = AbortSignal.abort();
  await assert.rejects(
    TcpClient.connect({ port: hanging.port, signal: aborted }),
    (error: Error) => error.name === "AbortError",
  );
});

Deno.test("TcpClient.connect() times out a TLS handshake that never answers", async () => {
  // A plain TCP server that accepts and stays silent.
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    while (await conn.read() !== null);
  });
  await assert.rejects(
    TcpClient.connect({ port: server.addr.port, tls: true, timeout: 200 }),
    Deno.errors.TimedOut,
  );
  // The runtime keeps a socket whose handshake was interrupted open until the
  // peer closes it (closing a TlsConn mid-handshake does not close the
  // socket), so the server closes its side rather than waiting for an end.
  await server.close();
  await serving;
});

Deno.test("TcpClient.connect() rejects bad arguments at once", async () => {
  await assert.rejects(TcpClient.connect({ port: 0 }), RangeError);
  await assert.rejects(TcpClient.connect({ port: 65536 }), RangeError);
  await assert.rejects(TcpClient.connect({ port: NaN }), RangeError);
  await assert.rejects(
    TcpClient.connect({ port: 80, timeout: -1 }),
    RangeError,
  );
  await assert.rejects(
    TcpClient.connect({ port: 80, timeout: Infinity }),
    RangeError,
  );
  await assert.rejects(
    TcpClient.connect({ hostname: "", port: 80 }),
    TypeError,
  );
});
