// Copyright 2026 the tcp authors. MIT license.
// An echo server for the test that runs it with few file descriptors.
import { TcpServer } from "../mod.ts";

const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
Deno.addSignalListener("SIGTERM", () => server.close());
console.log(`listening on 127.0.0.1:${server.addr.port}`);
await server.serve(async (conn) => {
  for await (const line of conn.lines()) await conn.write(`${line}\n`);
});
