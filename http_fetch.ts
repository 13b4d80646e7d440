// Copyright 2026 the tcp authors. MIT license.
/**
 * {@linkcode fetchToFile}: download a URL to a file over HTTP/1.1, spoken
 * directly over TCP or TLS rather than through the built-in `fetch`. The
 * response is parsed strictly, the file appears atomically and only when
 * complete, memory stays flat whatever the size, and an interrupted download
 * can be resumed.
 *
 * ```ts
 * import { TcpServer } from "@netkit/tcp";
 * import { fetchToFile } from "@netkit/tcp/http-fetch";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   await conn.readUntil("\r\n\r\n");
 *   await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
 * });
 * const dir = await Deno.makeTempDir();
 * try {
 *   const url = `http://127.0.0.1:${server.addr.port}/hello.txt`;
 *   const result = await fetchToFile(url, `${dir}/hello.txt`);
 *   assert.equal(result.status, 200);
 *   assert.equal(await Deno.readTextFile(`${dir}/hello.txt`), "hello\n");
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 *   await server.shutdown();
 *   await serving;
 * }
 * ```
 *
 * It is also a command:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write jsr:@netkit/tcp/http-fetch https://example.com/ -o page.html
 * ```
 *
 * @module
 */

// The library lives in _fetch_to_file.ts, which mod.ts exports too: this
// entry point adds only the command, loaded when the module is run, so that
// importing the library does not load the command line and node:util.
import { fetchToFile } from "./_fetch_to_file.ts";

export * from "./_fetch_to_file.ts";

if (import.meta.main) {
  const { main } = await import("./_http_fetch_cli.ts");
  Deno.exit(await main(Deno.args, fetchToFile));
}
