// Copyright 2026 the tcp authors. MIT license.
/**
 * The smallest server of the tutorial (seed 004, "样例1-基本使用"), faithful:
 * it accepts one client, sends `您好` ("hello") and closes.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/ninhao_server.ts      # localhost:8000
 * deno run --allow-net examples/tutorial/ninhao_client.ts
 * ```
 *
 * @module
 */

import { TcpServer } from "../../mod.ts";
import { hostPort, parseFlags, parsePort, run } from "../_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/ninhao_server.ts [options]

The socket tutorial's smallest server: accepts one client, sends "您好"
("hello", 6 bytes of UTF-8, no newline), closes the connection and exits.

Options:
  --hostname HOST  Address to listen on (default: localhost)
  --port PORT      Port to listen on, 0 for any free one (default: 8000)
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
  const port = parsePort(flags.port, { allowZero: true });

  // socket, bind, listen: TcpServer.listen does all three (绑定端口: bind
  // the port; 开始监听: start listening, that is, set up the queue of
  // connections)
  const server = TcpServer.listen({ hostname: flags.hostname, port });
  console.log(`listening on ${hostPort(server.addr)}`);
  // accept: take a connection from the queue (三次握手: its three-way
  // handshake is done)
  for await (const conn of server) {
    // send
    await conn.write("您好");
    // close (四次挥手: the four-way goodbye)
    conn.close();
    break; // one client only
  }
  await server.close();
}

if (import.meta.main) await run(main);
