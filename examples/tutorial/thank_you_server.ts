// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's first TCP server (seeds 000 to 002, "tcp服务器"), faithful:
 * it accepts one client, prints what one `recv(1024)` returns, sends
 * `thank you !` and closes. No newline is added or expected: a message is
 * whatever one read returns.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/thank_you_server.ts   # 0.0.0.0:7788
 * deno run --allow-net examples/tutorial/send_client.ts        # or: python3 examples/tutorial/python/send_client.py
 * ```
 *
 * @module
 */

import { TcpServer } from "../../mod.ts";
import { hostPort, parseFlags, parsePort, run } from "../_cli.ts";
import { decode } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/thank_you_server.ts [options]

The socket tutorial's TCP server: accepts one client, prints what arrives in
one recv(1024), sends "thank you !" and exits. It speaks the tutorial's raw
protocol: no newlines, a message is whatever one read returns.

Options:
  --hostname HOST  Address to listen on (default: 0.0.0.0, all interfaces,
                   the tutorial's '')
  --port PORT      Port to listen on, 0 for any free one (default: 7788)
  -h, --help       Show this help
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: "7788" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port, { allowZero: true });

  // socket, bind, listen: TcpServer.listen does all three
  const tcpSerSocket = TcpServer.listen({ hostname: flags.hostname, port });
  console.log(`listening on ${hostPort(tcpSerSocket.addr)}`);
  // accept: a new socket serves this client; tcpSerSocket could go on
  // waiting for others
  for await (const newSocket of tcpSerSocket) {
    // recv: at most 1024 bytes, whatever has arrived
    const recvData = await newSocket.read(1024);
    // "接收到的数据为:" is "the data received is:"
    console.log("接收到的数据为:", decode(recvData));
    // send
    await newSocket.write("thank you !");
    // close this client's socket: it cannot be served any more
    newSocket.close();
    break; // the tutorial serves one client only
  }
  // close the listening socket: no new client can connect
  await tcpSerSocket.close();
}

if (import.meta.main) await run(main);
