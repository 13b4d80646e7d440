// Copyright 2026 the tcp authors. MIT license.
// A backend for tests/balancers_test.ts, written against the public API as
// an application behind HAProxy or nginx would be: it takes PROXY headers
// from the balancers on 127.0.0.1 only (on a Unix socket, from whoever can
// open it), reads one request line per connection and answers with one JSON
// line saying who it is and whom it sees. A request `wait MS ...` is
// answered MS milliseconds later: an exchange that a shutdown finds running.
//
// SIGTERM (or SIGINT) shuts it down gracefully; it then prints how many
// connections drained and how many were cut. With --agent-port it also
// answers HAProxy's agent check there (`up ready`, then `drain` once told to
// stop), and shuts down only once HAProxy has heard `drain` (or after
// --drain-timeout): closing the listening socket resets the connections
// still queued in the kernel's backlog, which the balancer has already
// handed clients and which neither HAProxy nor nginx retries in TCP mode.
// Once drained, no new connection arrives to be reset.
//
//   deno run --allow-net tests/_balancer_backend.ts --name a [--port 0]
//     [--path FILE] [--trusted NET]... [--agent-port PORT] [--drain-timeout MS]
//
// Prints `listening on HOST:PORT` (or `listening on FILE`) once it listens,
// then `agent on HOST:PORT` with --agent-port.

import { parseArgs } from "node:util";
import { type TcpHandler, TcpServer } from "../mod.ts";

const flags = parseArgs({
  options: {
    name: { type: "string", default: "backend" },
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    path: { type: "string" },
    trusted: { type: "string", multiple: true, default: ["127.0.0.1"] },
    "agent-port": { type: "string" },
    "drain-timeout": { type: "string", default: "3000" },
  },
}).values;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An address as the answer shows it. */
function show(addr: Deno.NetAddr | Deno.UnixAddr): string {
  return "hostname" in addr ? `${addr.hostname}:${addr.port}` : addr.path;
}

let served = 0;
let empty = 0;
const handler: TcpHandler<Deno.NetAddr | Deno.UnixAddr> = async (conn) => {
  // A balancer that has connected has the request on its way: read it even
  // while the server shuts down, or the client's exchange is cut.
  const said = await conn.readLine({ interruptible: false, timeout: 5000 });
  if (said === null) {
    // A health check, with or without a PROXY header of its own.
    empty++;
    return;
  }
  const wait = /^wait (\d+)/.exec(said);
  if (wait) await delay(Number(wait[1]));
  served++;
  await conn.write(
    JSON.stringify({
      server: flags.name,
      pid: Deno.pid,
      remote: show(conn.remoteAddr),
      local: show(conn.localAddr),
      socketRemote: show(conn.socketRemoteAddr),
      header: conn.proxyHeader?.command ?? null,
      said,
    }) + "\n",
  );
};

const server: TcpServer<Deno.NetAddr | Deno.UnixAddr> = flags.path === undefined
  ? TcpServer.listen({
    hostname: flags.hostname,
    port: Number(flags.port),
    proxyProtocol: { trusted: flags.trusted },
  }) as TcpServer<Deno.NetAddr | Deno.UnixAddr>
  : TcpServer.listen({ path: flags.path, proxyProtocol: {} });
console.log(`listening on ${show(server.addr)}`);

// HAProxy's agent check connects, reads one line, and closes.
let draining = false;
let drainHeard = () => {};
const heard = new Promise<void>((resolve) => drainHeard = resolve);
const agent = flags["agent-port"] === undefined ? undefined : TcpServer.listen({
  hostname: flags.hostname,
  port: Number(flags["agent-port"]),
});
const agentServing = agent?.serve(async (conn) => {
  await conn.write(draining ? "drain\n" : "up ready\n");
  if (draining) drainHeard();
});
if (agent) console.log(`agent on ${show(agent.addr)}`);

async function stop(): Promise<void> {
  draining = true;
  if (agent) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      heard,
      new Promise((resolve) => {
        timer = setTimeout(resolve, Number(flags["drain-timeout"]));
      }),
    ]);
    clearTimeout(timer);
    // Connections HAProxy sent just before it heard are still on their way.
    await delay(100);
    await agent.shutdown();
  }
  await server.shutdown({ timeout: 5000 });
}

let signals = 0;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {
    if (++signals > 1) {
      void agent?.close();
      void server.close();
      return;
    }
    console.log(`${signal}: shutting down`);
    void stop();
  });
}

await server.serve(handler);
await agentServing;
const { drained, cut, abandoned } = await server.shutdown();
console.log(
  `stopped: ${drained} drained, ${cut} cut, ${abandoned} abandoned; ${served} served, ${empty} without a request`,
);
