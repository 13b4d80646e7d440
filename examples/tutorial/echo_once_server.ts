// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's first echo server (seed 003, "向客户端发送数据"), faithful: it
 * accepts one client, sends back what one `recv(1024)` returns, and exits.
 * The tutorial tried it with `telnet localhost 8888`: type `happy`, get
 * `happy` back, and the connection closes.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/echo_once_server.ts   # 127.0.0.1:8888
 * nc 127.0.0.1 8888                                            # or telnet, or send_client.ts --port 8888
 * ```
 *
 * @module
 */

import { TcpServer } from "../../mod.ts";
import { hostPort, parseFlags, parsePort, run } from "../_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/echo_once_server.ts [options]

The socket tutorial's first echo server: accepts one client, sends back
what arrives in one recv(1024), and exits. It speaks the tutorial's raw
protocol: no newlines, a message is whatever one read returns.

Options:
  --hostname HOST  Address to listen on (default: 127.0.0.1)
  --port PORT      Port to listen on, 0 for any free one (default: 8888)
  -h, --help       Show this help
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8888" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port, { allowZero: true });

  // socket, bind, listen: TcpServer.listen does all three. If the address
  // is taken it throws (the tutorial's "Bind failed" branch), and run()
  // prints that as one line and exits 1.
  const s = TcpServer.listen({ hostname: flags.hostname, port });
  // The tutorial prints after each of the three steps.
  console.log("Socket created ");
  console.log("Socket bind complete");
  console.log("Socket now listening");
  console.log(`listening on ${hostPort(s.addr)}`);
  // accept: wait for a connection (a blocking call in Python)
  for await (const conn of s) {
    // display client information
    console.log(`Connected with ${hostPort(conn.remoteAddr)}`);
    // now keep talking with the client: recv, then sendall
    const data = await conn.read(1024);
    await conn.write(data ?? "");
    // close the client's socket, then the listening one
    conn.close();
    break;
  }
  await s.close();
}

if (import.meta.main) await run(main);
