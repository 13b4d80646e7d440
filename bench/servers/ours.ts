// Copyright 2026 the tcp authors. MIT license.
/**
 * The echo server under test: `TcpServer.serve` with the read/write loop
 * from the module's own example. Prints its port, then serves until killed.
 *
 *   deno run --allow-net ours.ts [MODULE_DIR]
 *
 * MODULE_DIR, if given, is another copy of the module to load instead of
 * this checkout's (`deno task bench --candidate DIR`): a proposed change can
 * then be measured against the current code in the same run.
 *
 * @module
 */

type Module = typeof import("../../mod.ts");
const { TcpServer }: Module = Deno.args[0] === undefined
  ? await import("../../mod.ts")
  : await import(new URL(`file://${Deno.args[0]}/mod.ts`).href);

const server = TcpServer.listen({
  hostname: "127.0.0.1",
  port: 0,
  // The churn client resets its connections (see bench/main.ts) and the load
  // generator leaves echoes unread when it stops, which also resets. The
  // baseline loop swallows those errors; logging each one would measure
  // console.error, not the server.
  onError(error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) console.error(error);
  },
});
console.log(server.addr.port);
await server.serve(async (conn) => {
  for (let data; (data = await conn.read()) !== null;) await conn.write(data);
});
