// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's server for many clients at once: it welcomes each client,
 * answers every line with `Hello, <line>!` and ends the conversation on the
 * line `exit`. Each connection gets its own handler, so a slow client never
 * holds up the others. Ctrl-C (or SIGTERM) shuts it down gracefully.
 *
 * ```sh
 * deno run --allow-net examples/greeting_server.ts         # 0.0.0.0:8001, every interface
 * deno run --allow-net examples/greeting_client.ts --name Ada --name Grace
 * ```
 *
 * @module
 */

import { LimitExceededError, type TcpConnection, TcpServer } from "../mod.ts";
import {
  hostPort,
  parseFlags,
  parsePort,
  run,
  serveUntilStopped,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/greeting_server.ts [options]

Welcomes each client, answers every line with "Hello, <line>!", and hangs
up on the line "exit". Serves many clients at once.

It speaks lines: every message ends with a newline. TCP keeps no message
boundaries (two quick sends can arrive in one read, as the tutorial's
"client1-1client1-2" shows), so a real protocol needs framing. The
tutorial's own server, which takes whatever one read returns, is
examples/tutorial/welcome_server.ts.

Options:
  --hostname HOST  Address to listen on (default: 0.0.0.0)
                   0.0.0.0: every interface; 127.0.0.1: this machine only
  --port PORT      Port to listen on, 0 for any free one (default: 8001)
  -h, --help       Show this help
  -V, --version    Show the version
`;

const MAX_LINE = 1024;

/**
 * Holds the greeting conversation with one client. The demo serves with it
 * too.
 */
export async function greet(conn: TcpConnection): Promise<void> {
  try {
    await conn.write("Welcome!\n");
    for await (const line of conn.lines({ maxLength: MAX_LINE })) {
      const name = line.trim();
      if (name === "exit") {
        await conn.write("Goodbye!\n");
        return;
      }
      await conn.write(`Hello, ${name || "stranger"}!\n`);
    }
  } catch (error) {
    // The server is shutting down: the waiting read ended with the signal's
    // reason, and writing still works.
    if (error === conn.signal.reason) {
      await conn.write("Server is shutting down, goodbye!\n");
      return;
    }
    // A flood without a newline is the client's fault: tell it, do not log
    // it as a server failure.
    if (!(error instanceof LimitExceededError)) throw error;
    await conn.write(`Error: lines are limited to ${MAX_LINE} bytes\n`);
  }
}

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: "8001" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port, { allowZero: true });

  const server = TcpServer.listen({ hostname: flags.hostname, port });
  await serveUntilStopped(server, async (conn) => {
    const peer = hostPort(conn.remoteAddr);
    console.log(`connected: ${peer} (${server.connections} now)`);
    try {
      await greet(conn);
    } finally {
      console.log(`disconnected: ${peer}`);
    }
  });
}

if (import.meta.main) await run(main);
