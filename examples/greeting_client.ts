// Copyright 2026 the tcp authors. MIT license.
/**
 * The client for the greeting server: it sends each name (from `--name`, or
 * else each line typed on stdin), prints every reply, and says `exit` at the
 * end. Run several at once to see the server serve them side by side.
 *
 * ```sh
 * deno run --allow-net examples/greeting_server.ts
 * deno run --allow-net examples/greeting_client.ts --name Ada --name Grace
 * printf 'Ada\nGrace\n' | deno run --allow-net examples/greeting_client.ts
 * ```
 *
 * @module
 */

import { TcpClient } from "../mod.ts";
import {
  hostPort,
  parseFlags,
  parsePort,
  parseSeconds,
  readLines,
  run,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/greeting_client.ts [options]

Sends each name to a greeting server and prints the replies. Without --name,
sends each line of stdin until "exit" or the end of input.

It speaks lines: it ends each name with a newline and waits for a newline
after each reply. TCP keeps no message boundaries (two quick sends can
arrive in one read, as the tutorial's "client1-1client1-2" shows), so a
real protocol needs framing. The tutorial's own client, which sends no
newline, is examples/tutorial/welcome_client.ts.

Options:
  --hostname HOST  Server to connect to (default: 127.0.0.1)
  --port PORT      Server port (default: 8001)
  --name NAME      A name to send; repeat for several
  --timeout SECONDS
                   How long connecting, and each wait for a reply, may take
                   (default: 5)
  -h, --help       Show this help
  -V, --version    Show the version
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8001" },
      name: { type: "string", multiple: true },
      timeout: { type: "string", default: "5" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);
  const timeout = parseSeconds(flags.timeout);
  const names: AsyncIterable<string> | Iterable<string> = flags.name ??
    readLines(Deno.stdin.readable);

  await using conn = await TcpClient.connect({
    hostname: flags.hostname,
    port,
    timeout,
  });
  const server = hostPort(conn.remoteAddr);
  const expectLine = async (): Promise<string> => {
    const line = await conn.readLine({ timeout });
    if (line === null) {
      throw new Error(`Cannot read a reply from "${server}": it hung up`);
    }
    console.log(line);
    return line;
  };

  await expectLine();
  // One line out, one line back: the server answers in order, so waiting for
  // each reply keeps the conversation readable on a terminal.
  for await (const name of names) {
    if (name.trim() === "exit") break;
    await conn.write(`${name}\n`);
    await expectLine();
  }
  await conn.write("exit\n");
  // Print whatever the server still says until it hangs up.
  for await (const line of conn.lines({ timeout })) console.log(line);
}

if (import.meta.main) await run(main);
