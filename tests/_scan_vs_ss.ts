// Copyright 2026 the tcp authors. MIT license.
// Run in a network namespace of its own (see port_scan_test.ts), whose
// loopback only this script listens on: opens listening sockets of every
// kind, then RUNS times lists the listening sockets with `ss -ltn`, works
// out which of them accept connections to 127.0.0.1, scans 127.0.0.1 ports
// 1-65535 with examples/port_scan.ts at its highest concurrency, and prints
// one JSON line per run: what ss says, what the scanner says, its summary.

import { TcpServer } from "../mod.ts";

const RUNS = Number(Deno.args[0] ?? 3);
const SCANNER = new URL("../examples/port_scan.ts", import.meta.url).pathname;

/** The addresses (as ss prints them) of sockets that accept on 127.0.0.1. */
const ACCEPTS_ON_127_0_0_1 = new Set([
  "127.0.0.1",
  "0.0.0.0",
  // ss prints an IPv6 wildcard socket that takes IPv4 too (not V6ONLY) as
  // "*", one that does not as "[::]".
  "*",
  "[::ffff:127.0.0.1]",
]);

/** The ports that `ss -ltn` lists as accepting on 127.0.0.1, sorted. */
async function listening(): Promise<number[]> {
  const { stdout, success } = await new Deno.Command("ss", {
    args: ["-ltnH"],
  }).output();
  if (!success) throw new Error("ss -ltnH failed");
  const ports = new Set<number>();
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    const local = line.trim().split(/\s+/)[3];
    if (local === undefined) continue;
    const colon = local.lastIndexOf(":");
    // "127.0.0.53%lo:53": the interface is not part of the address.
    const address = local.slice(0, colon).replace(/%.*$/, "");
    if (ACCEPTS_ON_127_0_0_1.has(address)) {
      ports.add(Number(local.slice(colon + 1)));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

// Sockets that accept on 127.0.0.1: the edges of the port range, servers
// that accept (the library's), listeners that never accept (connections
// wait in their queue), IPv4 and dual-stack wildcards.
const servers = [
  TcpServer.listen({ hostname: "127.0.0.1", port: 1 }),
  TcpServer.listen({ hostname: "127.0.0.1", port: 0 }),
  TcpServer.listen({ hostname: "0.0.0.0", port: 0 }),
  TcpServer.listen({ hostname: "::", port: 0 }),
];
const serving = servers.map((server) => server.serve(() => {}));
const listeners = [
  Deno.listen({ hostname: "0.0.0.0", port: 65535 }),
  Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  // And sockets that do not: other loopback addresses, IPv6 only.
  Deno.listen({ hostname: "127.0.0.2", port: 0 }),
  Deno.listen({ hostname: "::1", port: 0 }),
];
// An IPv6 wildcard that takes IPv6 only (Deno cannot set IPV6_V6ONLY).
const v6only = new Deno.Command("python3", {
  args: [
    "-c",
    `import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::", 0))
s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()`,
  ],
  stdin: "piped",
  stdout: "piped",
}).spawn();
const v6onlyPort = Number(
  (await v6only.stdout.pipeThrough(new TextDecoderStream()).getReader().read())
    .value,
);

try {
  const ports = (list: { addr: Deno.Addr }[]) =>
    list.map(({ addr }) => (addr as Deno.NetAddr).port);
  const ours = {
    accepting: [...ports(servers), ...ports(listeners.slice(0, 2))],
    elsewhere: [...ports(listeners.slice(2)), v6onlyPort],
  };
  console.log(JSON.stringify(ours));
  for (let run = 1; run <= RUNS; run++) {
    const expected = await listening();
    const started = performance.now();
    const { stdout, stderr, code } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        SCANNER,
        "--hostname",
        "127.0.0.1",
        "--ports",
        "1-65535",
        "--concurrency",
        "1000",
      ],
      env: { NO_COLOR: "1" },
    }).output();
    const ms = Math.round(performance.now() - started);
    const text = new TextDecoder().decode(stdout);
    const found = [...text.matchAll(/^(\d+)\/tcp open$/gm)].map((m) =>
      Number(m[1])
    );
    console.log(JSON.stringify({
      run,
      code,
      ms,
      expected,
      found,
      stdout: text,
      stderr: new TextDecoder().decode(stderr),
      after: await listening(),
    }));
  }
} finally {
  for (const server of servers) await server.close();
  await Promise.all(serving);
  for (const listener of listeners) listener.close();
  await v6only.stdin.close();
  await v6only.status;
}
