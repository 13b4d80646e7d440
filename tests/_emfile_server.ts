// Copyright 2026 the tcp authors. MIT license.
// An echo server for the tests that run it with few file descriptors. It
// registers no signal listener of its own: SIGTERM ends it the default way,
// and nothing hides how the runtime copes when descriptors run out early.
import { TcpServer } from "../mod.ts";

const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
console.log(`listening on 127.0.0.1:${server.addr.port}`);
await server.serve(async (conn) => {
  for await (const line of conn.lines()) await conn.write(`${line}\n`);
});
