// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's client for the welcome server (seed 003), faithful: it
 * prints the `Welcome`, sends `ning`, `yan` and `ke` one at a time, printing
 * each reply of up to 1024 bytes, then sends `exit` and closes.
 *
 * ```sh
 * deno run --allow-net examples/tutorial/welcome_server.ts
 * deno run --allow-net examples/tutorial/welcome_client.ts
 * ```
 *
 * @module
 */

import { TcpClient } from "../../mod.ts";
import { parseFlags, parsePort, run } from "../_cli.ts";
import { decode } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net examples/tutorial/welcome_client.ts [options]

The socket tutorial's client for the welcome server: prints the welcome,
sends "ning", "yan" and "ke" one at a time and prints each reply, then sends
"exit". It speaks the tutorial's raw protocol: no newlines, a message is
whatever one recv(1024) returns.

Options:
  --hostname HOST  Server to connect to (default: 127.0.0.1)
  --port PORT      Server port (default: 9999)
  -h, --help       Show this help
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "9999" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);

  // socket, connect: TcpClient.connect does both
  const s = await TcpClient.connect({ hostname: flags.hostname, port });
  // recv: print the first message, at most 1024 bytes (the welcome)
  console.log(decode(await s.read(1024)));
  for (const data of ["ning", "yan", "ke"]) {
    // send, then print the reply
    await s.write(data);
    console.log(decode(await s.read(1024)));
  }
  await s.write("exit");
  s.close();
}

if (import.meta.main) await run(main);
