// Copyright 2026 the tcp authors. MIT license.
/**
 * The socket tutorial's first server: it accepts connections and sends back
 * every byte it receives, `recv(1024)` then `sendall` in a loop, serving many
 * clients at once. Ctrl-C (or SIGTERM) shuts it down gracefully.
 *
 * ```sh
 * deno run --allow-net examples/echo_server.ts            # 0.0.0.0:8000, every interface
 * deno run --allow-net examples/echo_client.ts --message "Hello, world"
 * ```
 *
 * @module
 */

import { type TcpConnection, TcpServer } from "../mod.ts";
import {
  hostPort,
  parseFlags,
  parsePort,
  run,
  serveUntilStopped,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/echo_server.ts [options]

Sends back whatever each client sends, byte for byte, for as long as the
client stays. Unlike the greeting and chat examples it needs no newlines, so
the tutorial's own clients (examples/tutorial/) work with it too.

Options:
  --hostname HOST  Address to listen on (default: 0.0.0.0)
                   0.0.0.0: every interface; 127.0.0.1: this machine only
  --port PORT      Port to listen on, 0 for any free one (default: 8000)
  -h, --help       Show this help
  -V, --version    Show the version
`;

/**
 * Echoes one connection until the client stops sending. When the server
 * shuts down, the waiting read rejects with `conn.signal.reason`, which ends
 * the echo (the server does not report it).
 */
export async function echo(conn: TcpConnection): Promise<void> {
  for (let data; (data = await conn.read(1024)) !== null;) {
    await conn.write(data);
  }
}

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: "8000" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port, { allowZero: true });

  const server = TcpServer.listen({ hostname: flags.hostname, port });
  await serveUntilStopped(server, async (conn) => {
    const peer = hostPort(conn.remoteAddr);
    console.log(`connected: ${peer}`);
    try {
      await echo(conn);
    } finally {
      console.log(`disconnected: ${peer} (${conn.bytesWritten} bytes echoed)`);
    }
  });
}

if (import.meta.main) await run(main);
