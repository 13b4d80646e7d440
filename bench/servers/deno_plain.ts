// Copyright 2026 the tcp authors. MIT license.
/**
 * The baseline: the echo loop people write with `Deno.listen` alone, one
 * 64 KiB buffer per connection (or as many KiB as the first argument says:
 * the 256 KiB variant shows how far larger reads alone go on this machine).
 * With `--tls`, the same loop over `Deno.listenTls` with tests/testdata's
 * certificate: the TLS tables' baseline. With `--gather`, reads go on while a
 * write runs and what they gather goes out in the next write (up to 256 KiB):
 * over TLS, where every read brings one 16 KiB record, this shows what
 * batching writes in JavaScript can win. Prints its port, then serves until
 * killed.
 *
 *   deno run --allow-net [--allow-read] deno_plain.ts [KIB] [--tls] [--gather]
 *
 * @module
 */

const tls = Deno.args.includes("--tls");
const gather = Deno.args.includes("--gather");
const kib = Deno.args.find((arg) => !arg.startsWith("--"));
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
for await (const conn of listener) (gather ? echoGathered : echo)(conn);

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

async function echoGathered(conn: Deno.Conn): Promise<void> {
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  const limit = 256 * 1024;
  const half = limit + bufferSize;
  // Two halves: the write in flight may still use one while reads go to the
  // other. Bytes [start, filled) of the current half wait to be written.
  let current = new Uint8Array(half);
  let spare = new Uint8Array(half);
  let start = 0;
  let filled = 0;
  let writing: Promise<void> | undefined;
  let writingFrom: Uint8Array | undefined;
  const writeAll = async (bytes: Uint8Array) => {
    for (let off = 0; off < bytes.length;) {
      off += await conn.write(bytes.subarray(off));
    }
  };
  // Writes what waits; once done, it writes what gathered meanwhile, so that
  // a peer waiting for its echo gets it while the next read waits.
  const flush = () => {
    writingFrom = current;
    const write: Promise<void> = writeAll(current.subarray(start, filled))
      .then(() => {
        writing = writingFrom = undefined;
        if (start < filled) flush();
      });
    write.catch(() => {});
    writing = write;
    start = filled;
  };
  try {
    for (;;) {
      if (start === filled) {
        if (writingFrom === current) [current, spare] = [spare, current];
        start = filled = 0;
      } else if (filled - start >= limit || half - filled < bufferSize) {
        while (writing !== undefined) await writing;
        if (start < filled) flush();
        continue;
      }
      const n = await conn.read(current.subarray(filled, filled + bufferSize));
      if (n === null) break;
      filled += n;
      if (writing === undefined) flush();
    }
    while (writing !== undefined) await writing;
    if (start < filled) flush();
    while (writing !== undefined) await writing;
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
