// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import { NameResolutionError, TcpClient, TcpServer } from "../mod.ts";

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

Deno.test("TcpClient.connect() names a host that does not resolve, once", async () => {
  // A name that no resolver accepts (a label may not start with a hyphen):
  // refused on this machine, without a query to any name server.
  await assert.rejects(
    TcpClient.connect({ hostname: "-no-such-host.invalid", port: 80 }),
    (error: Error) => {
      assert.ok(error instanceof NameResolutionError);
      assert.equal(error.hostname, "-no-such-host.invalid");
      assert.equal(error.temporary, false);
      assert.match(
        error.message,
        /^Cannot connect to "-no-such-host\.invalid:80": cannot resolve the host name: [a-z][^:]*$/,
      );
      assert.equal(error.message.split("no-such-host").length, 2);
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
    TcpClient.connect({ port: 80, idleTimeout: 0 }),
    RangeError,
  );
  await assert.rejects(
    TcpClient.connect({ hostname: "", port: 80 }),
    TypeError,
  );
});

/**
 * Runs `_self_connect.ts` in a network namespace of its own (made with
 * `unshare`, as an unprivileged user too) whose only ephemeral port is 40000:
 * a connect to 127.0.0.1:40000 is then always a self-connection.
 */
async function inSelfConnectNamespace(mode: string): Promise<string> {
  const script = new URL("./_self_connect.ts", import.meta.url).pathname;
  const { stdout, stderr, success } = await new Deno.Command("unshare", {
    args: [
      "-rn",
      "sh",
      "-c",
      `ip link set lo up && sysctl -qw net.ipv4.ip_local_port_range="40000 40000" && exec "${Deno.execPath()}" run --allow-net "${script}" ${mode} 40000`,
    ],
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  assert.ok(success, new TextDecoder().decode(stderr));
  return text;
}

Deno.test("TcpClient.connect() refuses a connection to itself", async () => {
  // The runtime alone reads its own bytes back from such a "server".
  assert.equal(
    await inSelfConnectNamespace("raw"),
    "connected from 127.0.0.1:40000",
  );
  assert.equal(
    await inSelfConnectNamespace("client"),
    'ConnectionRefused: Cannot connect to "127.0.0.1:40000": connection refused (the socket connected to itself, so nothing listens there)',
  );
});

Deno.test("TcpClient.connect() idleTimeout closes a connection that makes no progress", async () => {
  // A server that accepts and never answers.
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    while (await conn.read() !== null);
  });
  await using client = await TcpClient.connect({
    port: server.addr.port,
    idleTimeout: 100,
  });
  const start = performance.now();
  assert.equal(await client.read(), null);
  assert.ok(performance.now() - start >= 95);
  assert.ok(client.signal.reason instanceof Deno.errors.TimedOut);
  assert.match(
    client.signal.reason.message,
    /^Connection to "127\.0\.0\.1:\d+" was idle for 100 ms$/,
  );
  // Writing says why the connection is closed.
  await assert.rejects(
    client.write("x"),
    (error) => error === client.signal.reason,
  );
  await server.shutdown();
  await serving;
});
