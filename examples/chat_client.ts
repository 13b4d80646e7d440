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
  parseSeconds,
  readLines,
  run,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/chat_client.ts [options]

Chats on a chat server: sends each line you type, prints each line the
server sends. The first line (or --nick) is your nickname. End of input
(Ctrl-D) or Ctrl-C leaves.

It speaks lines: it ends what you type with a newline and prints what
arrives line by line. Text that comes without a newline, as the tutorial's
QQ chat sends it, is printed as a line of its own once the server pauses
for 0.1 s: TCP keeps no message boundaries, so a real protocol needs
framing, and the pause is only a guess at one. The tutorial's own client,
which sends what you type without a newline, is
examples/tutorial/send_client.ts.

Options:
  --hostname HOST  Server to connect to (default: 127.0.0.1)
  --port PORT      Server port (default: 8002)
  --nick NAME      Your nickname, instead of typing it first
  --timeout SECONDS
                   How long connecting may take; a chat has no end to wait
                   for, so nothing else is timed (default: 5)
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
      timeout: { type: "string", default: "5" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);
  const timeout = parseSeconds(flags.timeout);

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
    await printIncoming(conn);
  } finally {
    printingDone = true;
    keyboard.abort();
    await typing;
  }
  if (typingError !== undefined) throw typingError;
}

/** How long the server may pause before text without a newline is printed. */
const PAUSE = 100;
/** Text without a newline that is printed without waiting for a pause. */
const MAX_PENDING = 64 * 1024;

/**
 * Prints what the server sends: each whole line at once, and text that has
 * no newline yet once the server pauses (or there is a lot of it), as a line
 * of its own. Holding it until a newline comes would show nothing from a
 * server that sends none, such as the tutorial's QQ chat.
 */
async function printIncoming(conn: TcpClient): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    let data;
    try {
      data = await conn.read(
        undefined,
        pending === "" ? undefined : { timeout: PAUSE },
      );
    } catch (error) {
      // The pause: the bytes that come later stay for the next read.
      if (!(error instanceof Deno.errors.TimedOut)) throw error;
      console.log(pending);
      pending = "";
      continue;
    }
    if (data === null) break;
    // stream: true keeps a character split across two reads intact.
    pending += decoder.decode(data, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) console.log(line.replace(/\r$/, ""));
    if (pending.length >= MAX_PENDING) {
      console.log(pending);
      pending = "";
    }
  }
  pending += decoder.decode();
  if (pending !== "") console.log(pending);
}

if (import.meta.main) await run(main);
