// Copyright 2026 the tcp authors. MIT license.
/**
 * The baseline: the echo loop people write with `Deno.listen` alone, one
 * 64 KiB buffer per connection (or as many KiB as the first argument says:
 * the 256 KiB variant shows how far larger reads alone go on this machine).
 * With `--tls`, the same loop over `Deno.listenTls` with tests/testdata's
 * certificate: the TLS tables' baseline. Prints its port, then serves until
 * killed.
 *
 *   deno run --allow-net [--allow-read] deno_plain.ts [KIB] [--tls]
 *
 * @module
 */

const tls = Deno.args.includes("--tls");
const kib = Deno.args.find((arg) => arg !== "--tls");
const bufferSize = Number(kib ?? 64) * 1024;
const testdata = new URL("../../tests/testdata/", import.meta.url);
const listener = tls
  ? Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("cert.pem", testdata)),
    key: await Deno.readTextFile(new URL("key.pem", testdata)),
  })
  : Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log((listener.addr as Deno.NetAddr).port);
for await (const conn of listener) echo(conn);

async function echo(conn: Deno.Conn): Promise<void> {
  // TcpServer turns Nagle off on every accepted socket; doing the same here
  // keeps the comparison about the library's own work. (A TLS connection
  // has no setter, in TcpServer either.)
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  const buf = new Uint8Array(bufferSize);
  try {
    for (let n; (n = await conn.read(buf)) !== null;) {
      // write() may take only part of the bytes.
      for (let off = 0; off < n;) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // A peer that resets mid-write ends the echo; nothing to report.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}
