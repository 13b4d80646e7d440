// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's "TCP模拟QQ聊天" (a QQ-style chat, seed 000), faithful: it
 * serves clients one after another, and with each takes turns: print what
 * one `recv(1024)` returns, then send a line typed at the terminal (without
 * its newline), until the client leaves. End of input (Ctrl-D) ends it.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/qq_chat_server.ts     # 0.0.0.0:7788
 * deno run --allow-net examples/tutorial/send_client.ts        # another terminal
 * nc 127.0.0.1 7788                                            # or several turns
 * ```
 *
 * @module
 */

import { TcpServer } from "../../mod.ts";
import { hostPort, parseFlags, parsePort, run } from "../_cli.ts";
import { decode, input } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/qq_chat_server.ts [options]

The socket tutorial's QQ-style chat server: serves one client at a time and
takes turns with it: prints what arrives in one recv(1024), then sends a
line you type (without its newline). The next client is served when this
one leaves. End of input (Ctrl-D) closes everything. It speaks the
tutorial's raw protocol: no newlines, a message is whatever one read
returns.

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
  // accept: one client after another; the next waits in the listen queue
  clients: for await (const newSocket of tcpSerSocket) {
    for (;;) {
      // recv: at most 1024 bytes, whatever has arrived
      const recvData = await newSocket.read(1024);
      // null (an empty recv in Python): the client closed the connection
      if (recvData === null) break;
      console.log("recv:", decode(recvData));
      // send a line typed at the terminal
      const sendData = await input("send:");
      // End of input: nothing more to say (the Python raises EOFError here)
      if (sendData === null) {
        newSocket.close();
        break clients;
      }
      await newSocket.write(sendData);
    }
    // close this client's socket; then accept the next
    newSocket.close();
  }
  // close the listening socket
  await tcpSerSocket.close();
}

if (import.meta.main) await run(main);
