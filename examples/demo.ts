// Copyright 2026 the tcp authors. MIT license.
/**
 * See it work: starts the greeting server on a free port in this process,
 * lets several clients talk to it at once, prints each conversation as it
 * happens, then shuts the server down gracefully while one client is still
 * connected, and prints what the shutdown did.
 *
 * ```sh
 * deno task demo
 * deno run --allow-net examples/demo.ts --clients 10
 * ```
 *
 * @module
 */

import { TcpClient, TcpServer } from "../mod.ts";
import {
  hostPort,
  parseFlags,
  parsePort,
  parsePositiveInteger,
  run,
  UsageError,
} from "./_cli.ts";
import { greet } from "./greeting_server.ts";

const USAGE = `
Usage: deno run --allow-net examples/demo.ts [options]

Runs the greeting server and several clients against it at once, and prints
their conversations. The last client stays connected to see the graceful
shutdown.

Options:
  --hostname HOST  Address for the server (default: 127.0.0.1)
  --port PORT      Port for the server, 0 for any free one (default: 0)
  --clients N      How many clients, 1 to 26 (default: 5)
  -h, --help       Show this help
  -V, --version    Show the version
`;

const NAMES = [
  "Ada",
  "Grace",
  "Linus",
  "Margaret",
  "Ken",
  "Barbara",
  "Dennis",
  "Frances",
  "Edsger",
  "Radia",
  "Alan",
  "Hedy",
  "Donald",
  "Katherine",
  "Tim",
  "Sophie",
  "Bjarne",
  "Adele",
  "Guido",
  "Lynn",
  "John",
  "Mary",
  "Niklaus",
  "Annie",
  "Vint",
  "Shafi",
];

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      clients: { type: "string", default: "5" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port, { allowZero: true });
  const clients = parsePositiveInteger(flags.clients, "--clients");
  if (clients > NAMES.length) {
    throw new UsageError(
      `Invalid --clients ${clients}: it must be at most ${NAMES.length}`,
    );
  }

  const server = TcpServer.listen({ hostname: flags.hostname, port });
  const serving = server.serve(greet);
  console.log(`listening on ${hostPort(server.addr)}`);
  try {
    const names = NAMES.slice(0, clients);
    const width = Math.max(...names.map((name) => name.length));
    const stayer = Promise.withResolvers<void>();
    const talk = async (name: string, stay: boolean) => {
      const say = (arrow: string, text: string) =>
        console.log(`${name.padEnd(width)} ${arrow} ${text}`);
      await using conn = await TcpClient.connect({
        hostname: server.addr.hostname,
        port: server.addr.port,
        timeout: 5000,
      });
      const hear = async () => {
        const line = await conn.readLine();
        if (line === null) throw new Error(`${name} was hung up on`);
        say("<-", line);
      };
      await hear();
      say("->", name);
      await conn.write(`${name}\n`);
      await hear();
      if (stay) {
        say("..", "stays connected");
        stayer.resolve();
        // The shutdown's goodbye comes last; then the server hangs up.
        for await (const line of conn.lines()) say("<-", line);
      } else {
        say("->", "exit");
        await conn.write("exit\n");
        await hear();
        await conn.readLine(); // null: the server hung up
      }
      say("--", "connection closed");
    };
    const staying = talk(names.at(-1)!, true);
    // Whichever fails first, the other promise must not reject unobserved.
    staying.catch(stayer.reject);
    await Promise.all([
      ...names.slice(0, -1).map((n) => talk(n, false)),
      stayer.promise,
    ]);
    console.log(`shutting down with ${server.connections} still connected`);
    const result = await server.shutdown({ timeout: 5000 });
    await staying;
    console.log(
      `shutdown: ${result.drained} drained (finished on their own), ${result.cut} cut`,
    );
  } finally {
    await server.close();
    await serving;
  }
}

if (import.meta.main) await run(main);
