// Copyright 2026 the tcp authors. MIT license.
/**
 * The echo server under test: `TcpServer.serve` with `conn.copyTo(conn)`, the
 * module's echo, or with `--loop` the tutorial's `read()`/`write()` loop.
 * Prints its port, then serves until killed.
 *
 *   deno run --allow-net ours.ts [--loop] [MODULE_DIR]
 *
 * MODULE_DIR, if given, is another copy of the module to load instead of
 * this checkout's (`deno task bench --candidate DIR`): a proposed change can
 * then be measured against the current code in the same run.
 *
 * @module
 */

type Module = typeof import("../../mod.ts");
const loop = Deno.args.includes("--loop");
const moduleDir = Deno.args.find((arg) => arg !== "--loop");
const { TcpServer }: Module = moduleDir === undefined
  ? await import("../../mod.ts")
  : await import(new URL(`file://${moduleDir}/mod.ts`).href);

const server = TcpServer.listen({
  hostname: "127.0.0.1",
  port: 0,
});
console.log(server.addr.port);
await server.serve(
  loop
    ? async (conn) => {
      for (let data; (data = await conn.read()) !== null;) {
        await conn.write(data);
      }
    }
    : (conn) => conn.copyTo(conn),
);
