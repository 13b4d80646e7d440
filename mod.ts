// Copyright 2026 the tcp authors. MIT license.
/**
 * TCP servers and clients for Deno, as easy as the classic socket tutorials
 * and as solid as production code needs.
 *
 * - {@linkcode TcpServer}: `for await (const conn of server)` or
 *   `server.serve(handler)`, connection limits, idle timeouts, graceful
 *   shutdown.
 * - {@linkcode TcpClient}: connect with a timeout and cancellation.
 * - {@linkcode TcpConnection}: what both sides get: `read()` (the tutorial's
 *   `recv`), `readLine()`, `readExact()`, `readUntil()` with limits on by
 *   default, `write()` that writes everything, half-close, web streams.
 * - {@linkcode decodeProxyHeader} and {@linkcode encodeProxyHeader}: the
 *   PROXY protocol (v1 and v2) that load balancers put in front of a
 *   connection to pass on the client's address.
 *
 * ```ts
 * import { TcpClient, TcpServer } from "@netkit/tcp";
 * import assert from "node:assert/strict";
 *
 * await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(async (conn) => {
 *   for (let data; (data = await conn.read()) !== null;) await conn.write(data);
 * });
 *
 * await using client = await TcpClient.connect({ port: server.addr.port });
 * await client.write("hello\n");
 * assert.equal(await client.readLine(), "hello");
 * client.close();
 *
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @module
 */

export * from "./connection.ts";
export * from "./server.ts";
export * from "./client.ts";
// The library behind ./http-fetch, without the command that entry runs.
export * from "./_fetch_to_file.ts";
export * from "./proxy_protocol.ts";
