// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's first TCP client (seeds 000 to 002, "tcp客户端"), faithful:
 * it connects, sends one message (a line typed on stdin, without its
 * newline, or `--message`), prints one reply of up to 1024 bytes, and closes.
 * It is the client for the thank-you, QQ chat, echo and `OK...` servers.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/thank_you_server.ts
 * deno run --allow-net examples/tutorial/send_client.ts        # type a line
 * deno run --allow-net examples/tutorial/send_client.ts --message hello
 * ```
 *
 * @module
 */

import { TcpClient } from "../../mod.ts";
import { parseFlags, parsePort, run } from "../_cli.ts";
import { decode, input } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/send_client.ts [options]

The socket tutorial's TCP client: connects, sends one message (a line typed
on stdin, sent without its newline, or --message), prints one reply of up
to 1024 bytes, and exits. It speaks the tutorial's raw protocol: no
newlines, a message is whatever one read returns.

Options:
  --hostname HOST  Server to connect to (default: 127.0.0.1; the tutorial's
                   server was another machine, 192.168.1.102)
  --port PORT      Server port (default: 7788)
  --message TEXT   What to send, instead of asking for a line
  -h, --help       Show this help
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "7788" },
      message: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);

  // socket, connect: TcpClient.connect does both
  const tcpClientSocket = await TcpClient.connect({
    hostname: flags.hostname,
    port,
  });
  // raw_input: ask for the data to send ("请输入要发送的数据:" is "enter the
  // data to send:")
  const sendData = flags.message ?? await input("请输入要发送的数据:");
  if (sendData === null) {
    tcpClientSocket.close();
    throw new Error("Cannot read the message to send: stdin ended");
  }
  // send, without a newline
  await tcpClientSocket.write(sendData);
  // recv: at most 1024 bytes, whatever has arrived
  const recvData = await tcpClientSocket.read(1024);
  console.log("接收到的数据为:", decode(recvData));
  // close
  tcpClientSocket.close();
}

if (import.meta.main) await run(main);
