// Copyright 2026 the tcp authors. MIT license.
/**
 * The echo server under test: `TcpServer.serve` with `conn.copyTo(conn)`, the
 * module's echo, or with `--loop` the tutorial's `read()`/`write()` loop.
 * Prints its port, then serves until killed.
 *
 *   deno run --allow-net ours.ts [--loop] [--proxy] [--tls] [--reuse-port]
 *     [--admission] [--port N] [MODULE_DIR]
 *
 * `--proxy` reads a PROXY protocol header from 127.0.0.1 (the load
 * generator's `--proxy-v2`, or HAProxy's `send-proxy-v2`); `--tls` serves
 * TLS with tests/testdata's certificate (read permission on it needed);
 * `--reuse-port` listens with `SO_REUSEPORT` (needs `--unstable-net`) on
 * `--port`, so that several processes can share it; `--admission` turns on
 * admission rules that all run and refuse nothing.
 *
 * MODULE_DIR, if given, is another copy of the module to load instead of
 * this checkout's (`deno task bench --candidate DIR`): a proposed change can
 * then be measured against the current code in the same run.
 *
 * @module
 */

import { parseArgs } from "node:util";

type Module = typeof import("../../mod.ts");
const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    loop: { type: "boolean", default: false },
    proxy: { type: "boolean", default: false },
    tls: { type: "boolean", default: false },
    "reuse-port": { type: "boolean", default: false },
    admission: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
  },
});
const moduleDir = positionals[0];
const { TcpServer }: Module = moduleDir === undefined
  ? await import("../../mod.ts")
  : await import(new URL(`file://${moduleDir}/mod.ts`).href);

const testdata = new URL("../../tests/testdata/", import.meta.url);
const server = TcpServer.listen({
  hostname: "127.0.0.1",
  port: Number(flags.port),
  ...(flags.proxy ? { proxyProtocol: { trusted: ["127.0.0.1"] } } : {}),
  ...(flags.tls
    ? {
      cert: await Deno.readTextFile(new URL("cert.pem", testdata)),
      key: await Deno.readTextFile(new URL("key.pem", testdata)),
    }
    : {}),
  ...(flags["reuse-port"] ? { reusePort: true } : {}),
  ...(flags.admission ? { admission: admissionRules() } : {}),
});
console.log(server.addr.port);
await server.serve(
  flags.loop
    ? async (conn) => {
      for (let data; (data = await conn.read()) !== null;) {
        await conn.write(data);
      }
    }
    : (conn) => conn.copyTo(conn),
);

/**
 * Rules that all run and never refuse the load generator (127.0.0.1, 50
 * connections at a time, tens of thousands a second): 1,000 denied /24
 * networks in 10.0.0.0/8, a cap of 1,000 per client, and a rate far above
 * what it reaches.
 */
function admissionRules() {
  const deny = Array.from(
    { length: 1000 },
    (_, i) => `10.${i >> 8}.${i & 255}.0/24`,
  );
  return {
    deny,
    maxPerClient: 1000,
    rate: { perSecond: 1_000_000, burst: 1_000_000 },
  };
}
