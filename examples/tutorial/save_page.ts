// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's "get a whole home page" program (seed 003, "一个完整的实例"),
 * faithful: it resolves the host name, connects, sends the tutorial's
 * `GET / HTTP/1.1` request with `Host` and `Connection: close`, reads with
 * `recv(1024)` until the server closes, prints the head and writes the body
 * to a file. It parses nothing: a chunked body is saved with its chunk
 * sizes, and a redirect is saved as it is. `examples/fetch_page.ts` is the
 * version done properly.
 *
 * ```sh
 * python3 -m http.server 8000 &        # any HTTP server
 * deno run --allow-net --allow-write examples/tutorial/save_page.ts --port 8000 -o page.html
 * ```
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { TcpClient } from "../../mod.ts";
import { hostPort, parseFlags, parsePort, run } from "../_cli.ts";
import { decode, join } from "./_tutorial.ts";

const USAGE = `
Usage: deno run --allow-net --allow-write examples/tutorial/save_page.ts [options]

The socket tutorial's page saver: resolves the host, connects, sends
"GET PATH HTTP/1.1" with "Host" and "Connection: close", reads until the
server closes, prints the head and writes the body (everything after the
first blank line, as it came) to a file.

Nothing is written until the server closes: Ctrl-C before then leaves no
file. Then FILE is replaced if it exists, as the tutorial's open(..., 'wb')
does, and holds whatever body came, complete or not (nothing is parsed).
examples/fetch_page.ts checks the body and refuses to replace a file
without --force.

Options:
  --hostname HOST  Server to fetch from (default: 127.0.0.1; the tutorial
                   fetched www.sina.com.cn)
  --port PORT      Server port (default: 80)
  --path PATH      Path to ask for (default: /)
  -o, --output FILE
                   Where to write the body (default: sina.html)
  -h, --help       Show this help
`;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "80" },
      path: { type: "string", default: "/" },
      output: { type: "string", short: "o", default: "sina.html" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = parsePort(flags.port);
  const host = flags.hostname;

  // socket: it comes with the connect below; the tutorial prints here
  console.log("Socket Created");
  // gethostbyname: the host name's IPv4 address
  let remoteIp: string;
  try {
    ({ address: remoteIp } = await lookup(host, { family: 4 }));
  } catch (error) {
    throw new Error(
      `Cannot resolve "${host}": ${(error as Error).message}`,
    );
  }
  console.log(`Ip address of ${host} is ${remoteIp}`);
  // connect to the remote server
  const s = await TcpClient.connect({ hostname: remoteIp, port });
  console.log(`Socket Connected to ${host} on ip ${remoteIp}`);

  // sendall: an HTTP request for the page; Connection: close asks the
  // server to close when it is done, which is how we know the page ended
  const message = `GET ${flags.path} HTTP/1.1\r\nHost: ${
    port === 80 ? host : hostPort({ hostname: host, port })
  }\r\nConnection: close\r\n\r\n`;
  await s.write(message);
  console.log("Message send successfully");

  // recv until the server closes: recv(max) takes at most max bytes
  const buffer: Uint8Array[] = [];
  for (;;) {
    const d = await s.read(1024);
    if (d !== null) buffer.push(d);
    else break;
  }
  // join the pieces, then close
  const data = join(...buffer);
  s.close();

  // split at the first blank line: the head, then the body
  const blankLine = indexOf(data, "\r\n\r\n");
  if (blankLine === -1) {
    throw new Error(
      `Cannot find the end of the head in the ${data.length} bytes received`,
    );
  }
  const header = data.subarray(0, blankLine);
  const html = data.subarray(blankLine + 4);
  console.log(decode(header));
  // write the body, bytes as they came
  await Deno.writeFile(flags.output, html);
}

/** Where `text` (ASCII) first occurs in `data`, or -1. */
function indexOf(data: Uint8Array, text: string): number {
  const needle = Array.from(text, (c) => c.charCodeAt(0));
  search: for (let i = 0; i + needle.length <= data.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (data[i + j] !== needle[j]) continue search;
    }
    return i;
  }
  return -1;
}

if (import.meta.main) await run(main);
