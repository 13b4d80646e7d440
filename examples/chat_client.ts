// Copyright 2026 the tcp authors. MIT license.
/**
 * The client for the chat server: it reads the keyboard and the socket at the
 * same time, so lines from others appear while you type. The first line you
 * type (or `--nick`) is your nickname. End input (Ctrl-D) or press Ctrl-C to
 * leave cleanly.
 *
 * ```sh
 * deno run --allow-net examples/chat_server.ts
 * deno run --allow-net examples/chat_client.ts --nick alice
 * ```
 *
 * @module
 */

import { TcpClient } from "../mod.ts";
import {
  onTerminate,
  parseFlags,
  parsePort,
  parsePositiveInteger,
  readLines,
  run,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/chat_client.ts [options]

Chats on a chat server: sends each line you type, prints each line the
server sends. The first line (or --nick) is your nickname. End of input
(Ctrl-D) or Ctrl-C leaves.

It speaks lines: it prints what arrives one whole line at a time, so from
a server that sends no newlines, such as the tutorial's QQ chat, it shows
nothing until the connection closes. TCP keeps no message boundaries, so a
real protocol needs framing. For the tutorial's servers use
examples/tutorial/send_client.ts or nc.

Options:
  --hostname HOST  Server to connect to (default: 127.0.0.1)
  --port PORT      Server port (default: 8002)
  --nick NAME      Your nickname, instead of typing it first
  --timeout MS     How long connecting may take; a chat has no end to wait
                   for, so nothing else is timed (default: 5000)
  -h, --help       Show this help
  -V, --version    Show the version
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8002" },
      nick: { type: "string" },
      timeout: { type: "string", default: "5000" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);
  const timeout = parsePositiveInteger(flags.timeout, "--timeout");

  await using conn = await TcpClient.connect({
    hostname: flags.hostname,
    port,
    timeout,
  });
  if (flags.nick !== undefined) await conn.write(`${flags.nick}\n`);

  // Two tasks at once: typing sends stdin to the server while the loop below
  // prints what the server sends. Stopping the keyboard half-closes the
  // connection; the server then says its goodbyes and hangs up, which ends
  // the printing.
  const keyboard = new AbortController();
  using _signals = onTerminate(() => keyboard.abort());
  let printingDone = false;
  let typingError: unknown;
  const typing = (async () => {
    for await (
      const line of readLines(Deno.stdin.readable, { signal: keyboard.signal })
    ) {
      await conn.write(`${line}\n`);
    }
    await conn.closeWrite();
  })().catch((error) => {
    // After the server hung up, a failed write is expected, not news.
    if (printingDone) return;
    typingError = error;
    conn.close();
  });

  try {
    for await (const line of conn.lines()) console.log(line);
  } finally {
    printingDone = true;
    keyboard.abort();
    await typing;
  }
  if (typingError !== undefined) throw typingError;
}

if (import.meta.main) await run(main);
