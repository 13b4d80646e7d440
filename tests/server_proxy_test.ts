// Copyright 2026 the tcp authors. MIT license.
// TcpServer behind a load balancer: the PROXY protocol received from trusted
// peers only, in each connection's own task, and TcpClient sending it.
import assert from "node:assert/strict";
import {
  encodeProxyHeader,
  type ProxyHeader,
  TcpClient,
  type TcpConnection,
  TcpServer,
} from "../mod.ts";

const encoder = new TextEncoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const CLIENT = { transport: "tcp", hostname: "203.0.113.7", port: 40123 };
const SERVICE = { transport: "tcp", hostname: "192.0.2.1", port: 443 };

function header(version: 1 | 2, extra: Partial<ProxyHeader> = {}): ProxyHeader {
  return {
    version,
    command: "PROXY",
    source: CLIENT as Deno.NetAddr,
    destination: SERVICE as Deno.NetAddr,
    ...extra,
  };
}

/** Answers each line with who the server thinks the client is. */
async function whoAmI(conn: TcpConnection): Promise<void> {
  for await (const line of conn.lines()) {
    const { hostname, port } = conn.remoteAddr;
    await conn.write(
      `${line}: ${hostname}:${port} via ${conn.socketRemoteAddr.hostname}\n`,
    );
  }
}

Deno.test("TcpServer proxyProtocol reports the client's address from a trusted v1 or v2 header", async (t) => {
  const errors: unknown[] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    proxyProtocol: { trusted: ["127.0.0.0/8"] },
    onError: (error) => errors.push(error),
  });
  const headers: (ProxyHeader | undefined)[] = [];
  const serving = server.serve(async (conn) => {
    headers.push(conn.proxyHeader);
    assert.deepEqual(conn.localAddr, SERVICE);
    assert.equal(conn.socketLocalAddr.port, server.addr.port);
    await whoAmI(conn);
  });
  for (const version of [1, 2] as const) {
    await t.step(`v${version}`, async () => {
      await using client = await TcpClient.connect({
        port: server.addr.port,
        proxyHeader: header(
          version,
          version === 2
            ? { tlvs: { authority: "example.com", alpn: "h2" } }
            : {},
        ),
      });
      await client.write("hi\n");
      assert.equal(
        await client.readLine(),
        "hi: 203.0.113.7:40123 via 127.0.0.1",
      );
    });
  }
  assert.equal(headers[0]?.version, 1);
  assert.equal(headers[1]?.tlvs?.authority, "example.com");
  assert.equal(headers[1]?.tlvs?.alpn, "h2");
  await server.shutdown();
  await serving;
  assert.deepEqual(errors, []);
});

Deno.test("TcpServer proxyProtocol keeps the socket's addresses for LOCAL and UNKNOWN headers", async () => {
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    proxyProtocol: { trusted: ["127.0.0.1"] },
  });
  const serving = server.serve(whoAmI);
  for (
    const proxyHeader of [
      { version: 2, command: "LOCAL" },
      { version: 1, command: "PROXY" },
    ] as ProxyHeader[]
  ) {
    await using client = await TcpClient.connect({
      port: server.addr.port,
      proxyHeader,
    });
    await client.write("hi\n");
    assert.equal(
      await client.readLine(),
      `hi: 127.0.0.1:${client.localAddr.port} via 127.0.0.1`,
    );
  }
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer proxyProtocol does not honour a header from an untrusted peer", async () => {
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    proxyProtocol: { trusted: ["10.0.0.0/8", "fd00::/8"] },
  });
  const serving = server.serve(whoAmI);
  // A forged header straight from 127.0.0.1: it is data, like any other.
  await using client = await TcpClient.connect({
    port: server.addr.port,
    proxyHeader: header(1),
  });
  await client.write("hi\n");
  assert.equal(
    await client.readLine(),
    `PROXY TCP4 203.0.113.7 192.0.2.1 40123 443: 127.0.0.1:${client.localAddr.port} via 127.0.0.1`,
  );
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer proxyProtocol closes a trusted peer with a bad header and reports it", async (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "no header",
      encoder.encode("GET / HTTP/1.1\r\n\r\n"),
      /Invalid PROXY header/,
    ],
    [
      "a v1 line too long",
      encoder.encode("PROXY TCP4 " + "1".repeat(120)),
      /Invalid PROXY header/,
    ],
    [
      "a v2 header of version 3",
      (() => {
        const bytes = encodeProxyHeader(header(2));
        bytes[12] = 0x31;
        return bytes;
      })(),
      /Invalid PROXY header/,
    ],
  ];
  for (const [name, bytes, pattern] of cases) {
    await t.step(name, async () => {
      const errors: Error[] = [];
      let served = 0;
      await using server = TcpServer.listen({
        hostname: "127.0.0.1",
        port: 0,
        proxyProtocol: { trusted: ["127.0.0.1"] },
        onError: (error) => errors.push(error as Error),
      });
      const serving = server.serve(() => void served++);
      await using client = await TcpClient.connect({ port: server.addr.port });
      await client.write(bytes);
      assert.equal(await client.read(), null);
      await server.shutdown();
      await serving;
      assert.equal(served, 0);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof Deno.errors.InvalidData);
      assert.match(
        errors[0].message,
        new RegExp(
          `^Cannot read the PROXY header from "127\\.0\\.0\\.1:${client.localAddr.port}": ${pattern.source}`,
          "i",
        ),
      );
    });
  }
});

Deno.test("TcpServer proxyProtocol closes a silent health check quietly", async () => {
  const errors: unknown[] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    proxyProtocol: { trusted: ["127.0.0.1"] },
    onError: (error) => errors.push(error),
  });
  const serving = server.serve(() => {});
  for (let i = 0; i < 5; i++) {
    const check = await TcpClient.connect({ port: server.addr.port });
    check.close();
  }
  await delay(50);
  await server.shutdown();
  await serving;
  assert.deepEqual(errors, []);
});

Deno.test("TcpServer proxyProtocol: a slow header is cut at its deadline and holds nobody up", async (t) => {
  for (const mode of ["serve()", "accept()"]) {
    await t.step(mode, async () => {
      const errors: Error[] = [];
      await using server = TcpServer.listen({
        hostname: "127.0.0.1",
        port: 0,
        proxyProtocol: { trusted: ["127.0.0.1"], timeout: 300 },
        onError: (error) => errors.push(error as Error),
      });
      let serving: Promise<void>;
      if (mode === "serve()") {
        serving = server.serve(whoAmI);
      } else {
        serving = (async () => {
          for await (const conn of server) {
            whoAmI(conn).finally(() => conn.close());
          }
        })();
      }
      // Half a header, then nothing.
      await using slow = await TcpClient.connect({ port: server.addr.port });
      await slow.write(encodeProxyHeader(header(2)).subarray(0, 20));
      await delay(20);
      // Other clients go through at once.
      const start = performance.now();
      for (let i = 0; i < 3; i++) {
        await using client = await TcpClient.connect({
          port: server.addr.port,
          proxyHeader: header(2),
        });
        await client.write("hi\n");
        assert.match((await client.readLine())!, /^hi: 203\.0\.113\.7:40123/);
      }
      const elapsed = performance.now() - start;
      assert.ok(
        elapsed < 150,
        `the other clients waited ${elapsed.toFixed(0)} ms`,
      );
      // The slow one is closed at its deadline.
      assert.equal(await slow.read(), null);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof Deno.errors.TimedOut);
      assert.match(
        errors[0].message,
        /^Cannot read the PROXY header from "127\.0\.0\.1:\d+": timed out after 300 ms$/,
      );
      await server.shutdown();
      await serving;
    });
  }
});

Deno.test("TcpServer.listen() refuses proxyProtocol without a trusted list", () => {
  assert.throws(
    () =>
      TcpServer.listen({
        hostname: "127.0.0.1",
        port: 0,
        proxyProtocol: {},
      }),
    (error: Error) =>
      error instanceof TypeError && /trusted/.test(error.message),
  );
  assert.throws(
    () =>
      TcpServer.listen({
        hostname: "127.0.0.1",
        port: 0,
        proxyProtocol: { trusted: ["10.0.0.1/8"] },
      }),
    RangeError,
  );
});

Deno.test("TcpClient.connect() sends its PROXY header first, before TLS", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = TcpClient.connect({
    port: listener.addr.port,
    proxyHeader: header(1),
    tls: true,
    timeout: 200,
  }).catch((error) => error);
  await using conn = new (await import("../mod.ts")).TcpConnection(
    await accepted,
  );
  const line = await conn.readLine();
  assert.equal(line, "PROXY TCP4 203.0.113.7 192.0.2.1 40123 443");
  // Then the TLS handshake begins: a ClientHello record.
  const [type] = await conn.readExact(1);
  assert.equal(type, 0x16);
  conn.close();
  assert.ok(await client instanceof Error);
});

Deno.test("TcpServer proxyProtocol serves a connection accepted before a graceful shutdown whose header comes after it", async () => {
  const errors: unknown[] = [];
  await using server = TcpServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    proxyProtocol: { trusted: ["127.0.0.1"] },
    onError: (error) => errors.push(error),
  });
  const serving = server.serve(async (conn) => {
    const line = await conn.readLine({ interruptible: false, timeout: 5000 });
    await conn.write(`${line} from ${conn.remoteAddr.hostname}\n`);
  });
  await using balancer = await TcpClient.connect({ port: server.addr.port });
  while (server.connections === 0) await delay(1);
  const shutdown = server.shutdown({ timeout: 5000 });
  await delay(50);
  await balancer.write(encodeProxyHeader(header(2)));
  await balancer.write("hello\n");
  assert.equal(await balancer.readLine(), "hello from 203.0.113.7");
  assert.deepEqual(await shutdown, { drained: 1, cut: 0, abandoned: 0 });
  await serving;
  assert.deepEqual(errors, []);
});
