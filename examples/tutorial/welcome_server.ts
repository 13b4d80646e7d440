// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's server for many clients at once (seed 003, "多线程处理多个连接"),
 * faithful: it sends each client `Welcome`, then answers each message with
 * `Hello,<message>!` until the message `exit` or the client leaves. The
 * Python gives each client a thread; here {@linkcode TcpServer.serve} runs
 * one handler per client, all at once.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/welcome_server.ts     # 127.0.0.1:9999
 * deno run --allow-net examples/tutorial/welcome_client.ts     # several at once
 * ```
 *
 * @module
 */

import { type TcpConnection, TcpServer } from "../../mod.ts";
import { hostPort, parseFlags, parsePort, run, UsageError } from "../_cli.ts";
import { decode, join } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/welcome_server.ts [options]

The socket tutorial's server for many clients at once: sends each client
"Welcome", then answers each message with "Hello,<message>!", and hangs up
on the message "exit". It speaks the tutorial's raw protocol: no newlines,
a message is whatever one recv(1024) returns, so "exit" must arrive alone.

Options:
  --hostname HOST  Address to listen on (default: 127.0.0.1)
  --port PORT      Port to listen on, 0 for any free one (default: 9999)
  --delay MS       Wait before each answer, the tutorial's time.sleep(1), so
                   that you see clients served side by side (default: 1000)
  -h, --help       Show this help
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "9999" },
      delay: { type: "string", default: "1000" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port, { allowZero: true });
  const delay = /^\d+$/.test(flags.delay) ? Number(flags.delay) : NaN;
  if (!Number.isSafeInteger(delay)) {
    throw new UsageError(
      `Invalid --delay ${
        JSON.stringify(flags.delay)
      }: it must be a whole number of milliseconds`,
    );
  }

  // socket, bind, listen: TcpServer.listen does all three
  const s = TcpServer.listen({ hostname: flags.hostname, port });
  console.log(`listening on ${hostPort(s.addr)}`);
  console.log("Waiting for connection");

  // One client's conversation: the tutorial's thread target.
  async function tcplink(sock: TcpConnection): Promise<void> {
    const addr = hostPort(sock.remoteAddr);
    console.log(`Accept new connection from ${addr}...`);
    await sock.write("Welcome");
    for (;;) {
      // recv: at most 1024 bytes, whatever has arrived
      const data = await sock.read(1024);
      await new Promise((resolve) => setTimeout(resolve, delay));
      // null (an empty recv in Python): the client left
      if (data === null || decode(data) === "exit") break;
      // One write, so that the client's one recv gets the whole reply.
      await sock.write(join("Hello,", data, "!"));
    }
    sock.close();
    console.log(`Connection from ${addr} closed`);
  }

  // accept in a loop, each client served by its own handler at once: the
  // tutorial's threading.Thread(target=tcplink, args=(sock, addr)).start()
  await s.serve(tcplink);
}

if (import.meta.main) await run(main);
