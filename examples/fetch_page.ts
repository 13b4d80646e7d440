// Copyright 2026 the tcp authors. MIT license.
/**
 * The socket tutorial's "download a web page" program, done right: instead
 * of sending a GET by hand and saving whatever `recv` returns until the
 * server closes (head, chunk sizes and all), it uses
 * {@linkcode fetchToFile}, which parses the response, follows redirects,
 * checks that the body is complete and only then puts the file in place.
 * It prints the status line and the header fields, and saves the body.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write examples/fetch_page.ts http://127.0.0.1:8000/ -o page.html
 * deno run --allow-net --allow-read --allow-write examples/fetch_page.ts --hostname example.com --port 80
 * ```
 *
 * (Moving the finished file into place is a rename, which Deno counts as a
 * read of the directory too: hence `--allow-read`.)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fetchToFile } from "../http_fetch.ts";
import {
  hostPort,
  Interrupted,
  interruption,
  parseFlags,
  parsePort,
  parseSeconds,
  run,
  UsageError,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net --allow-read --allow-write examples/fetch_page.ts [URL] [options]

Downloads a page, prints its status line and header fields, and saves the
body to a file. Without URL, fetches http://HOST:PORT/PATH. The file appears
only once the body is complete: a failed or interrupted (Ctrl-C) download
leaves nothing behind.

Options:
  --hostname HOST  Server to fetch from (default: 127.0.0.1)
  --port PORT      Server port (default: 8000)
  --path PATH      Path to fetch (default: /)
  -o, --output FILE
                   Where to save the body (default: page.html)
  -f, --force      Replace FILE if it exists
  --timeout SECONDS
                   How long connecting, or a silent server, may take
                   (default: 10)
  -h, --help       Show this help
  -V, --version    Show the version
`;

const OPTIONS = {
  hostname: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "8000" },
  path: { type: "string", default: "/" },
  output: { type: "string", short: "o", default: "page.html" },
  force: { type: "boolean", short: "f", default: false },
  timeout: { type: "string", default: "10" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: OPTIONS,
    allowPositionals: true,
  });
  const { positionals } = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
  });
  if (positionals.length > 1) {
    throw new UsageError(`Expected one URL, received ${positionals.length}`);
  }
  const timeout = parseSeconds(flags.timeout);
  const url = positionals[0] ??
    `http://${
      hostPort({ hostname: flags.hostname, port: parsePort(flags.port) })
    }${flags.path.startsWith("/") ? "" : "/"}${flags.path}`;
  // Checked before the download too, not only when the file is put in
  // place: a refusal after a long download would waste it.
  if (!flags.force && await exists(flags.output)) {
    throw new Deno.errors.AlreadyExists(
      `Cannot save "${flags.output}": the file already exists (use --force to replace it)`,
    );
  }

  // Ctrl-C aborts the download, and fetchToFile removes its temporary file
  // before it rejects.
  using stop = interruption();
  let result;
  try {
    result = await fetchToFile(url, flags.output, {
      timeout,
      idleTimeout: timeout,
      overwrite: flags.force,
      signal: stop.signal,
    });
  } catch (error) {
    if (error instanceof Interrupted && error === stop.signal.reason) {
      throw new Interrupted(
        error.signal,
        `Cannot download "${url}": interrupted`,
      );
    }
    throw error;
  }
  if (result.url !== url) console.log(`(redirected to ${result.url})`);
  console.log(`${result.version} ${result.status} ${result.statusText}`);
  for (const [name, value] of result.headers) console.log(`${name}: ${value}`);
  console.log();
  console.log(`Saved ${result.bytesWritten} bytes to "${result.path}"`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

if (import.meta.main) await run(main);
