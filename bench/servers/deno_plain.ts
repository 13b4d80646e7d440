// Copyright 2026 the tcp authors. MIT license.
/**
 * The baseline: the echo loop people write with `Deno.listen` alone, one
 * 64 KiB buffer per connection (or as many KiB as the first argument says:
 * the 256 KiB variant shows how far larger reads alone go on this machine).
 * Prints its port, then serves until killed.
 *
 * @module
 */

const bufferSize = Number(Deno.args[0] ?? 64) * 1024;
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log((listener.addr as Deno.NetAddr).port);
for await (const conn of listener) echo(conn);

async function echo(conn: Deno.TcpConn): Promise<void> {
  // TcpServer turns Nagle off on every accepted socket; doing the same here
  // keeps the comparison about the library's own work.
  conn.setNoDelay(true);
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
