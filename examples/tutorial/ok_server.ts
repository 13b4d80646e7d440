// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's server that keeps running (seed 003, "服务器一直运行"),
 * faithful: it accepts clients one after another and answers each one's
 * first message, as one `recv(1024)` returns it, with `OK...` and that
 * message. A client that sends nothing and closes stops the server.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/ok_server.ts          # 127.0.0.1:8888
 * deno run --allow-net examples/tutorial/send_client.ts --port 8888 --message hello
 * ```
 *
 * @module
 */

import { TcpServer } from "../../mod.ts";
import { hostPort, parseFlags, parsePort, run } from "../_cli.ts";
import { join } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/ok_server.ts [options]

The socket tutorial's server that keeps running: answers each client's
first message with "OK..." and the message, then closes that connection
and accepts the next. A client that closes without sending anything stops
the server. It speaks the tutorial's raw protocol: no newlines, a message
is whatever one recv(1024) returns.

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

  // socket, bind, listen: TcpServer.listen does all three; it throws if the
  // address is taken (the tutorial's "Bind failed" branch)
  const s = TcpServer.listen({ hostname: flags.hostname, port });
  // The tutorial prints after each of the three steps.
  console.log("Socket created ");
  console.log("Socket bind complete");
  console.log("Socket now listening");
  console.log(`listening on ${hostPort(s.addr)}`);
  // accept in a loop: the server keeps running
  for await (const conn of s) {
    // display client information
    console.log(`connected with ${hostPort(conn.remoteAddr)}`);
    // recv: at most 1024 bytes
    const data = await conn.read(1024);
    // null (an empty recv in Python): the client sent nothing; stop serving
    if (data === null) {
      conn.close();
      break;
    }
    // sendall the reply, one write: "OK..." and the bytes as they came
    await conn.write(join("OK...", data));
    // Not in the tutorial, which leaves each connection open until Python
    // reclaims its socket at the next accept: the reply is all there is.
    conn.close();
  }
  // close the listening socket
  await s.close();
}

if (import.meta.main) await run(main);
