// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's port scanner: it tries to connect to each port and reports
 * the ones that accept. Connects run side by side, but never more than
 * `--concurrency` at once, and each gives up after `--timeout` seconds. Scan only
 * machines you are allowed to.
 *
 * ```sh
 * deno run --allow-net examples/port_scan.ts --ports 1-1024
 * deno run --allow-net examples/port_scan.ts --ports 22,80,8000-8010 --timeout 0.2
 * ```
 *
 * @module
 */

import { TcpClient } from "../mod.ts";
import {
  parseFlags,
  parsePositiveInteger,
  parseSeconds,
  run,
  UsageError,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/port_scan.ts [options]

Prints the TCP ports that accept connections. Scan only machines you are
allowed to.

Options:
  --hostname HOST    Host to scan (default: 127.0.0.1)
  --ports LIST       Ports and ranges, e.g. 1-1024 or 22,80,8000-8010
                     (default: 1-1024)
  --timeout SECONDS  How long each connect may take (default: 0.5)
  --concurrency N    Most connects at once, up to 1000 (default: 100)
  -h, --help         Show this help
  -V, --version      Show the version
`;

const MAX_CONCURRENCY = 1000;

/** What a connect to one port found. */
export type PortState = "open" | "closed" | "filtered";

/**
 * Parses a port list such as `22,80,8000-8010` into sorted, distinct ports.
 *
 * @throws {UsageError} If a part is not a port or a rising range of ports.
 */
export function parsePorts(list: string): number[] {
  const ports = new Set<number>();
  const invalid = (why: string) =>
    new UsageError(`Invalid --ports ${JSON.stringify(list)}: ${why}`);
  for (const part of list.split(",")) {
    const match = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(part);
    if (!match) {
      throw invalid(
        `${JSON.stringify(part)} is neither a port nor a range like 1-1024`,
      );
    }
    const first = Number(match[1]);
    const last = Number(match[2] ?? match[1]);
    for (const port of [first, last]) {
      if (port < 1 || port > 65535) {
        throw invalid(`port ${port} is outside 1 to 65535`);
      }
    }
    if (last < first) {
      throw invalid(`the range ${first}-${last} runs backwards`);
    }
    for (let port = first; port <= last; port++) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** Tries one port: open if it accepts, closed if refused, filtered if no answer. */
export async function probe(
  hostname: string,
  port: number,
  timeout: number,
  signal?: AbortSignal,
): Promise<PortState> {
  try {
    const conn = await TcpClient.connect({ hostname, port, timeout, signal });
    conn.close();
    return "open";
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return "closed";
    if (error instanceof Deno.errors.ConnectionReset) return "closed";
    if (error instanceof Deno.errors.TimedOut) return "filtered";
    // Anything else (a host that does not resolve, no permission) would
    // fail for every port alike.
    throw error;
  }
}

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      ports: { type: "string", default: "1-1024" },
      timeout: { type: "string", default: "0.5" },
      concurrency: { type: "string", default: "100" },
      help: { type: "boolean", short: "h" },
    },
  });
  const ports = parsePorts(flags.ports);
  const timeout = parseSeconds(flags.timeout);
  const concurrency = parsePositiveInteger(flags.concurrency, "--concurrency");
  if (concurrency > MAX_CONCURRENCY) {
    throw new UsageError(
      `Invalid --concurrency ${concurrency}: it must be at most ${MAX_CONCURRENCY}`,
    );
  }

  const started = performance.now();
  const found: Record<PortState, number[]> = {
    open: [],
    closed: [],
    filtered: [],
  };
  // The first fatal error cancels the connects still in flight.
  const stop = new AbortController();
  let next = 0;
  const worker = async () => {
    while (next < ports.length && !stop.signal.aborted) {
      const port = ports[next++]!;
      found[await probe(flags.hostname, port, timeout, stop.signal)].push(port);
    }
  };
  const workers = Array.from(
    { length: Math.min(concurrency, ports.length) },
    () =>
      worker().catch((error) => {
        stop.abort(error);
        throw error;
      }),
  );
  await Promise.allSettled(workers);
  if (stop.signal.aborted) throw stop.signal.reason;

  for (const port of found.open.sort((a, b) => a - b)) {
    console.log(`${port}/tcp open`);
  }
  const ms = Math.round(performance.now() - started);
  console.log(
    `scanned ${ports.length} ports on ${flags.hostname} in ${ms} ms: ${found.open.length} open, ${found.closed.length} closed, ${found.filtered.length} filtered`,
  );
}

if (import.meta.main) await run(main);
