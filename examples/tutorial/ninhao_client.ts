// Copyright 2026 the tcp authors. MIT license.
/**
 * The smallest client of the tutorial (seed 004, "样例1-基本使用"), faithful:
 * it connects, prints one message of up to 1024 bytes (`您好` from the
 * ninhao server) and closes.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/ninhao_server.ts
 * deno run --allow-net examples/tutorial/ninhao_client.ts
 * ```
 *
 * @module
 */

import { TcpClient } from "../../mod.ts";
import { parseFlags, parsePort, run } from "../_cli.ts";
import { decode } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/ninhao_client.ts [options]

The socket tutorial's smallest client: connects, prints what arrives in one
recv(1024), and exits.

Options:
  --hostname HOST  Server to connect to (default: localhost)
  --port PORT      Server port (default: 8000)
  -h, --help       Show this help
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "localhost" },
      port: { type: "string", default: "8000" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);

  // socket, connect: TcpClient.connect does both (三次握手: the three-way
  // handshake)
  const client = await TcpClient.connect({ hostname: flags.hostname, port });
  // recv: at most 1024 bytes (处理消息: handle the message)
  console.log(decode(await client.read(1024)));
  // close
  client.close();
}

if (import.meta.main) await run(main);
