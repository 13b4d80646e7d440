// Copyright 2026 the tcp authors. MIT license.
/**
 * The socket tutorial's first client: it connects to the echo server, sends a
 * message, reads the reply with `recv(1024)` until every byte has come back,
 * prints it and exits.
 *
 * ```sh
 * deno run --allow-net examples/echo_server.ts
 * deno run --allow-net examples/echo_client.ts --message "Hello, world"
 * ```
 *
 * @module
 */

import { TcpClient } from "../mod.ts";
import {
  deadline,
  hostPort,
  parseFlags,
  parsePort,
  parseSeconds,
  run,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/echo_client.ts [options]

Sends a message to an echo server and prints what comes back. It reads
until every byte it sent is back, however many reads that takes: TCP is a
byte stream, so one send may arrive in pieces and two sends as one. Against
a server that answers something else, such as the tutorial's "thank you !",
it fails; examples/tutorial/send_client.ts prints whatever one read
returns, as the tutorial's client does. If the server hangs up before the
whole echo is back, it prints what did come and fails.

Options:
  --hostname HOST  Server to connect to (default: 127.0.0.1)
  --port PORT      Server port (default: 8000)
  --message TEXT   What to send (default: "Hello, world")
  --timeout SECONDS
                   How long the whole exchange may take: connecting, sending
                   and reading the echo back (default: 5)
  -h, --help       Show this help
  -V, --version    Show the version
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8000" },
      message: { type: "string", default: "Hello, world" },
      timeout: { type: "string", default: "5" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);
  const timeout = parseSeconds(flags.timeout);
  const message = new TextEncoder().encode(flags.message);
  const signal = deadline(timeout, "The echo");

  await using conn = await TcpClient.connect({
    hostname: flags.hostname,
    port,
    signal,
  });
  await conn.write(message);
  // TCP is a byte stream, not a message stream: the echo may arrive in
  // several pieces, so read until all of it is back.
  const decoder = new TextDecoder();
  let reply = "";
  let received = 0;
  try {
    while (received < message.length) {
      const data = await conn.read(1024, { signal });
      if (data === null) {
        throw new Error(
          `Cannot read the echo from "${
            hostPort(conn.remoteAddr)
          }": the server closed the connection after ${received} of ${message.length} bytes`,
        );
      }
      received += data.length;
      // stream: true keeps a character split across two reads intact.
      reply += decoder.decode(data, { stream: true });
    }
  } finally {
    // Whatever came back is printed, even when not all of it did: it is the
    // best clue to what the server is (the tutorial's says "thank you !").
    reply += decoder.decode();
    if (reply !== "") console.log(reply);
  }
}

if (import.meta.main) await run(main);
