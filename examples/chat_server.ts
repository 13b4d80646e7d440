// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's two-terminal chat, done properly: any number of clients, a
 * nickname each, join and leave announcements, and every line passed on to
 * everyone else as `<nick> text`. Broadcasting writes to many connections
 * from many handlers at once; each connection queues its writes, so lines
 * never interleave. Ctrl-C (or SIGTERM) shuts it down gracefully.
 *
 * ```sh
 * deno run --allow-net examples/chat_server.ts             # 0.0.0.0:8002, every interface
 * deno run --allow-net examples/chat_client.ts --nick alice   # terminal 2
 * deno run --allow-net examples/chat_client.ts --nick bob     # terminal 3
 * ```
 *
 * @module
 */

import { LimitExceededError, type TcpConnection, TcpServer } from "../mod.ts";
import {
  hostPort,
  parseFlags,
  parsePort,
  run,
  serveUntilStopped,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/chat_server.ts [options]

A chat room: each client first sends a nickname, then every line it sends
goes to all the others as "<nick> text". Type "/quit" to leave.

It speaks lines: every message ends with a newline. TCP keeps no message
boundaries (two quick sends can arrive in one read, as the tutorial's
"client1-1client1-2" shows), so a real protocol needs framing. The
tutorial's two-terminal chat, one read and one typed reply at a time, is
examples/tutorial/qq_chat_server.ts.

Options:
  --hostname HOST  Address to listen on (default: 0.0.0.0)
                   0.0.0.0: every interface; 127.0.0.1: this machine only
  --port PORT      Port to listen on, 0 for any free one (default: 8002)
  -h, --help       Show this help
  -V, --version    Show the version
`;

const MAX_LINE = 4096;
/**
 * Lines that may wait to be written to one member. A client that stops
 * reading would otherwise make the server buffer everything said, forever.
 */
const MAX_BACKLOG = 1000;
const NICKNAME = /^[\p{L}\p{N}_-]{1,20}$/u;

interface Member {
  nick: string;
  conn: TcpConnection;
  backlog: number;
}

/** One chat room: who is in it, and passing lines between them. */
export class ChatRoom {
  #members = new Map<string, Member>();
  #log: (line: string) => void;

  /** @param log Where the room reports joins and leaves. */
  constructor(log: (line: string) => void = () => {}) {
    this.#log = log;
  }

  /** Holds one client's part of the chat, from nickname to leaving. */
  async serve(conn: TcpConnection): Promise<void> {
    let member: Member | undefined;
    try {
      member = await this.#join(conn);
      if (member === undefined) return;
      for await (const line of conn.lines({ maxLength: MAX_LINE })) {
        if (line === "/quit") break;
        if (line.trim() === "") continue;
        this.#broadcast(`<${member.nick}> ${line}`, member);
      }
    } catch (error) {
      // The server is shutting down: the waiting read ended with the
      // signal's reason, and writing still works.
      if (error === conn.signal.reason) {
        await conn.write("* server is shutting down\n");
      } else if (error instanceof LimitExceededError) {
        await conn.write(`* lines are limited to ${MAX_LINE} bytes, goodbye\n`);
      } else {
        throw error;
      }
    } finally {
      if (member) this.#leave(member);
    }
  }

  /** Asks for a nickname until a free one arrives; undefined if the client leaves. */
  async #join(conn: TcpConnection): Promise<Member | undefined> {
    await conn.write("Welcome! What is your nickname?\n");
    for (;;) {
      const line = await conn.readLine({ maxLength: MAX_LINE });
      if (line === null) return undefined;
      const nick = line.trim();
      if (!NICKNAME.test(nick)) {
        await conn.write(
          "* a nickname is 1 to 20 letters, digits, _ or -; try another\n",
        );
      } else if (this.#members.has(nick)) {
        await conn.write(`* ${nick} is taken; try another\n`);
      } else {
        const others = [...this.#members.keys()];
        const member = { nick, conn, backlog: 0 };
        this.#members.set(nick, member);
        this.#log(`${nick} joined from ${hostPort(conn.remoteAddr)}`);
        await conn.write(
          `* hello ${nick}! ${
            others.length === 0
              ? "nobody else is here"
              : `here: ${others.join(", ")}`
          }\n`,
        );
        this.#broadcast(`* ${nick} joined`, member);
        return member;
      }
    }
  }

  #leave(member: Member): void {
    this.#members.delete(member.nick);
    this.#log(`${member.nick} left`);
    this.#broadcast(`* ${member.nick} left`, member);
  }

  /** Sends a line to every member but `from`, without waiting for any of them. */
  #broadcast(line: string, from: Member): void {
    for (const member of this.#members.values()) {
      if (member === from) continue;
      if (member.backlog >= MAX_BACKLOG) {
        // Its own handler sees the close and announces the leave.
        this.#log(`${member.nick} is not reading; disconnecting`);
        member.conn.close();
        continue;
      }
      member.backlog++;
      member.conn.write(`${line}\n`)
        // A member whose connection broke is leaving through its own handler.
        .catch(() => {})
        .finally(() => member.backlog--);
    }
  }
}

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: "8002" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port, { allowZero: true });

  const server = TcpServer.listen({ hostname: flags.hostname, port });
  const room = new ChatRoom((line) => console.log(line));
  await serveUntilStopped(server, (conn) => room.serve(conn));
}

if (import.meta.main) await run(main);
