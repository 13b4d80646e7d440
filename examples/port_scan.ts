// Copyright 2026 the tcp authors. MIT license.
/**
 * The tutorial's port scanner: it tries to connect to each port and reports
 * the ones that accept. It resolves the host once and says which address it
 * scans. Connects run side by side, but never more than `--concurrency` at
 * once, and each gives up after `--timeout` seconds; ports that gave no
 * answer in time are tried again with fewer connects at once before they are
 * called filtered, because a busy machine (the scanner's own included) drops
 * or delays connects too. Scan only machines you are allowed to.
 *
 * ```sh
 * deno run --allow-net examples/port_scan.ts --ports 1-1024
 * deno run --allow-net examples/port_scan.ts --ports 22,80,8000-8010 --timeout 0.2
 * ```
 *
 * @module
 */

import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { NameResolutionError, TcpClient } from "../mod.ts";
import {
  errorLine,
  formatSeconds,
  Interrupted,
  interruption,
  parseFlags,
  parsePositiveInteger,
  parseSeconds,
  run,
  UsageError,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-net examples/port_scan.ts [options]

Prints the TCP ports that accept connections, and the ones that gave no
answer (filtered: a firewall that drops packets, or a machine too busy to
answer). Ports that time out are tried again with 1/8 as many connects at
once, then, if that got any answer, one at a time, before they count as
filtered: under load, the scanning machine itself delays connects. The host
name is resolved once; the address scanned is printed first. Progress shows
on a terminal. Scan only machines you are allowed to.

Options:
  --hostname HOST    Host to scan, resolved once (default: 127.0.0.1)
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

/** Writes sorted ports as ranges: `[1, 2, 3, 7]` is `1-3, 7`. */
export function formatRanges(ports: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ports.length;) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === ports[j]! + 1) j++;
    parts.push(i === j ? `${ports[i]}` : `${ports[i]}-${ports[j]}`);
    i = j + 1;
  }
  return parts.join(", ");
}

/**
 * The address to scan: an IP address as it is, a host name looked up once.
 * Connecting by name instead would look it up again for every port.
 *
 * @throws {NameResolutionError} If the name does not resolve.
 */
export async function resolveHost(hostname: string): Promise<string> {
  const bare = hostname.replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) !== 0) return bare;
  try {
    return (await lookup(bare)).address;
  } catch (error) {
    throw new NameResolutionError(
      `Cannot resolve "${hostname}": ${errorLine(error)}`,
      hostname,
      { cause: error },
    );
  }
}

/**
 * What one connect found. A connect that timed out, or found this machine
 * short of sockets or ports, may have met the scan's own load: the port is
 * tried again with fewer connects at once.
 */
type Probe = "open" | "closed" | "timed out" | "short";

/** Errors that say the local machine is short of something, not the port. */
const SHORTAGES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "EADDRNOTAVAIL"]);

function isShortage(error: unknown): boolean {
  if (error instanceof Deno.errors.AddrNotAvailable) return true;
  const code = (error as { code?: unknown })?.code ??
    ((error as { cause?: { code?: unknown } })?.cause)?.code;
  return typeof code === "string" && SHORTAGES.has(code);
}

/**
 * Tries one port. A socket that connects to itself (possible on this
 * machine's own addresses) is refused by {@linkcode TcpClient.connect}, so
 * it counts as closed, as it should: nothing listens there.
 */
async function probe(
  address: string,
  port: number,
  timeout: number,
  signal: AbortSignal,
  lastTry: boolean,
): Promise<Probe> {
  try {
    const conn = await TcpClient.connect({
      hostname: address,
      port,
      timeout,
      signal,
    });
    conn.close();
    return "open";
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return "closed";
    if (error instanceof Deno.errors.ConnectionReset) return "closed";
    if (error instanceof Deno.errors.TimedOut) return "timed out";
    // Short of sockets even one at a time: say so rather than guess.
    if (isShortage(error) && !lastTry) return "short";
    // Anything else (no permission, no route, the user's Ctrl-C) would
    // fail for every port alike.
    throw error;
  }
}

/** One round of connects: how many at once, to how many ports, with what result. */
export interface ScanPass {
  /** The connects at once. */
  concurrency: number;
  /** The ports tried. */
  ports: number;
  /** The ports that answered (open or closed). */
  answered: number;
  /** The connects that failed for want of sockets or ports here. */
  short: number;
}

/** What {@linkcode scan} found. */
export interface ScanResult {
  /** The ports that accepted, sorted. */
  open: number[];
  /** How many ports refused. */
  closed: number;
  /** The ports that never answered, sorted. */
  filtered: number[];
  /** The first round, then each round of retries. */
  passes: ScanPass[];
  /** How many ports were tried: all of them, unless interrupted. */
  scanned: number;
  /**
   * Whether the signal stopped the scan. Then `filtered` holds the ports
   * that had not answered so far.
   */
  interrupted: boolean;
}

/** How far a scan is. */
export interface ScanProgress {
  /** 0 for the first round, then 1, 2 for the retries. */
  round: number;
  pass: ScanPass;
  /** The ports done in this round. */
  done: number;
  /** The open ports found so far. */
  open: number;
}

/** Options for {@linkcode scan}. */
export interface ScanOptions {
  /** How long each connect may take, in milliseconds. */
  timeout: number;
  /** The most connects at once in the first round. */
  concurrency: number;
  /** Aborting it stops the scan, which then returns what it found so far. */
  signal?: AbortSignal;
  /** Called as each port is done. */
  onProgress?: (progress: ScanProgress) => void;
}

/**
 * The rounds of a scan: all ports at `concurrency`, then the ones that
 * gave no answer at 1/8 of that, then one at a time.
 */
function concurrencies(concurrency: number): number[] {
  return [...new Set([concurrency, Math.ceil(concurrency / 8), 1])];
}

/**
 * Scans `ports` on `address`. Ports that give no answer are tried again in
 * rounds with fewer connects at once; a retry in which every connect timed
 * out ends the retries (a firewall drops those packets: trying one at a
 * time would only take long). What still gave no answer is filtered.
 */
export async function scan(
  address: string,
  ports: readonly number[],
  options: ScanOptions,
): Promise<ScanResult> {
  const { timeout, onProgress } = options;
  const result: ScanResult = {
    open: [],
    closed: 0,
    filtered: [],
    passes: [],
    scanned: 0,
    interrupted: false,
  };
  const rounds = concurrencies(options.concurrency);
  let pending = [...ports];
  for (const [round, concurrency] of rounds.entries()) {
    if (pending.length === 0) break;
    const previous = result.passes.at(-1);
    if (round > 1 && previous!.answered === 0 && previous!.short === 0) break;
    const pass: ScanPass = {
      concurrency,
      ports: pending.length,
      answered: 0,
      short: 0,
    };
    result.passes.push(pass);
    const lastTry = round === rounds.length - 1;
    const unanswered: number[] = [];
    // The user's stop, or the first failure, ends every worker: the same
    // signal cancels the connects in flight.
    const stop = new AbortController();
    const onAbort = () => stop.abort(options.signal!.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < pending.length && !stop.signal.aborted) {
        const port = pending[next++]!;
        const found = await probe(address, port, timeout, stop.signal, lastTry);
        if (found === "timed out" || found === "short") {
          unanswered.push(port);
          if (found === "short") pass.short++;
        } else {
          pass.answered++;
          if (found === "open") result.open.push(port);
          else result.closed++;
        }
        if (round === 0) result.scanned++;
        done++;
        onProgress?.({ round, pass, done, open: result.open.length });
      }
    };
    await Promise.all(
      Array.from(
        { length: Math.min(concurrency, pending.length) },
        () => worker().catch((error) => stop.abort(error)),
      ),
    );
    options.signal?.removeEventListener("abort", onAbort);
    if (stop.signal.aborted) {
      if (stop.signal.reason !== options.signal?.reason) {
        throw stop.signal.reason;
      }
      result.interrupted = true;
      // Those not tried again in this round had not answered either.
      if (round > 0) unanswered.push(...pending.slice(next));
      pending = unanswered;
      break;
    }
    pending = unanswered;
  }
  result.open.sort((a, b) => a - b);
  result.filtered = pending.sort((a, b) => a - b);
  return result;
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

  const address = await resolveHost(flags.hostname);
  const target = address === flags.hostname
    ? address
    : `${flags.hostname} (${address})`;
  console.log(`scanning ${target}, ${ports.length} ports`);
  const started = performance.now();
  const progress = Deno.stderr.isTerminal() ? new Progress() : undefined;
  using stop = interruption();
  let result: ScanResult;
  try {
    result = await scan(address, ports, {
      timeout,
      concurrency,
      signal: stop.signal,
      onProgress: progress && ((p) => progress.update(p)),
    });
  } finally {
    progress?.clear();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);

  for (const port of result.open) console.log(`${port}/tcp open`);
  if (result.filtered.length > 0) {
    console.log(
      `${result.interrupted ? "no answer yet" : "filtered"}: ${
        formatRanges(result.filtered)
      }`,
    );
  }
  const [first, ...retries] = result.passes;
  if (retries.length > 0) {
    const answers = retries.map(({ concurrency, answered }) =>
      `${answered} answered ${
        concurrency === 1 ? "one at a time" : `${concurrency} at a time`
      }`
    );
    console.log(
      `retried ${retries[0]!.ports} ports that gave no answer within ${
        formatSeconds(timeout)
      } with ${first!.concurrency} at a time: ${answers.join(", ")}`,
    );
  }
  console.log(
    `scanned ${result.scanned} ports on ${target} in ${seconds} s: ${result.open.length} open, ${result.closed} closed, ${
      result.interrupted ? "not finished" : `${result.filtered.length} filtered`
    }`,
  );
  if (result.interrupted) {
    const reason = stop.signal.reason as Interrupted;
    throw new Interrupted(
      reason.signal,
      `interrupted after ${result.scanned} of ${ports.length} ports: the lists above are incomplete`,
    );
  }
}

/** The progress on a terminal: one line on stderr, redrawn ten times a second. */
class Progress {
  #drawn = 0;
  #encoder = new TextEncoder();

  update({ round, pass, done, open }: ScanProgress): void {
    const now = performance.now();
    if (now - this.#drawn < 100 && done < pass.ports) return;
    this.#drawn = now;
    const what = round === 0
      ? "scanning"
      : `retrying ports that gave no answer, ${
        pass.concurrency === 1 ? "one" : pass.concurrency
      } at a time`;
    this.#write(`\r${what}: ${done}/${pass.ports}, ${open} open\x1b[K`);
  }

  clear(): void {
    if (this.#drawn !== 0) this.#write("\r\x1b[K");
  }

  #write(text: string): void {
    const bytes = this.#encoder.encode(text);
    for (let n = 0; n < bytes.length;) {
      n += Deno.stderr.writeSync(bytes.subarray(n));
    }
  }
}

if (import.meta.main) await run(main);
