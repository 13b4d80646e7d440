// Copyright 2026 the tcp authors. MIT license.
// TcpServer and TcpClient over Unix domain sockets: the same connection
// type, stale socket files, abstract names, and the PROXY protocol from a
// proxy on the same host.
import assert from "node:assert/strict";
import { TcpClient, type TcpConnection, TcpServer } from "../mod.ts";

async function echo(
  conn: TcpConnection<Deno.NetAddr | Deno.UnixAddr>,
): Promise<void> {
  await conn.copyTo(conn);
}

async function socketPath(name = "test.sock"): Promise<string> {
  return `${await Deno.makeTempDir()}/${name}`;
}

Deno.test("TcpServer and TcpClient talk over a Unix socket, and the server removes its file", async () => {
  const path = await socketPath();
  const server = TcpServer.listen({ path });
  assert.equal((server.addr as Deno.UnixAddr).path, path);
  const serving = server.serve(echo);
  await using client = await TcpClient.connect({ path });
  assert.equal(client.remoteAddr.transport, "unix");
  await client.write("over a file\n");
  assert.equal(await client.readLine(), "over a file");
  client.close();
  await server.shutdown();
  await serving;
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
});

Deno.test("TcpServer.listen() replaces a socket file left behind", async () => {
  const path = await socketPath();
  // A socket file whose server is gone: a process bound it and ended
  // without removing it, as one that crashes does.
  const { success } = await new Deno.Command("python3", {
    args: [
      "-c",
      "import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen()",
      path,
    ],
  }).output();
  assert.ok(success);
  assert.ok((await Deno.lstat(path)).isSocket);
  assert.throws(
    () => Deno.listen({ transport: "unix", path }),
    Deno.errors.AddrInUse,
  );
  await using server = TcpServer.listen({ path });
  const serving = server.serve(echo);
  await using client = await TcpClient.connect({ path });
  await client.write("in its place\n");
  assert.equal(await client.readLine(), "in its place");
  client.close();
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer.listen() does not remove a file that is not a socket", async () => {
  const path = await socketPath("plain-file");
  await Deno.writeTextFile(path, "keep me");
  assert.throws(() => TcpServer.listen({ path }), Deno.errors.AddrInUse);
  assert.equal(await Deno.readTextFile(path), "keep me");
});

Deno.test("TcpServer and TcpClient use a Linux abstract socket name", async () => {
  const path = `\0netkit-tcp-test-${crypto.randomUUID()}`;
  await using server = TcpServer.listen({ path });
  const serving = server.serve(echo);
  await using client = await TcpClient.connect({ path });
  await client.write("abstract\n");
  assert.equal(await client.readLine(), "abstract");
  client.close();
  await server.shutdown();
  await serving;
});

Deno.test("TcpServer on a Unix socket takes PROXY headers from a proxy on the same host", async () => {
  const path = await socketPath();
  await using server = TcpServer.listen({ path, proxyProtocol: {} });
  const serving = server.serve(async (conn) => {
    const addr = conn.remoteAddr as Deno.NetAddr;
    await conn.write(`${addr.hostname}:${addr.port}\n`);
  });
  await using client = await TcpClient.connect({
    path,
    proxyHeader: {
      version: 1,
      command: "PROXY",
      source: { transport: "tcp", hostname: "198.51.100.9", port: 5555 },
      destination: { transport: "tcp", hostname: "192.0.2.1", port: 80 },
    },
  });
  assert.equal(await client.readLine(), "198.51.100.9:5555");
  await server.shutdown();
  await serving;
  assert.throws(
    () =>
      TcpServer.listen({ path, proxyProtocol: { trusted: ["10.0.0.0/8"] } }),
    TypeError,
  );
});

Deno.test("TcpClient.connect() to a Unix path with nothing there names the path", async () => {
  const path = await socketPath("absent.sock");
  await assert.rejects(
    TcpClient.connect({ path }),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, new RegExp(`^Cannot connect to "${path}": `));
      return true;
    },
  );
});
