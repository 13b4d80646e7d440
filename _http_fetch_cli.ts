// Copyright 2026 the tcp authors. MIT license.
// The command behind `deno run jsr:@netkit/tcp/http-fetch`. http_fetch.ts
// imports it only when run, and hands it fetchToFile, so that the library
// does not carry the command line and the progress bar, and this module
// does not import the library back.

import { parseArgs } from "node:util";
import type { FetchProgress, fetchToFile } from "./_fetch_to_file.ts";
import { readPartial } from "./_file_output.ts";
import { NAME, VERSION } from "./_version.ts";

const USAGE = `
Usage: deno run --allow-net --allow-read --allow-write jsr:@netkit/tcp/http-fetch URL [options]

Downloads URL (http: or https:) to a file. The file appears only once it is
complete; a failed download leaves nothing behind (unless --resume).

Options:
  -o, --output FILE        Where to save (default: the last segment of the
                           URL's path, or index.html)
  -f, --force              Replace FILE if it exists
  -c, --resume             Keep a failed download in FILE.part and continue
                           it next time
      --max-redirects N    Follow at most N redirects (default: 10)
      --timeout SECONDS    Give up when connecting, or when the server sends
                           nothing, for this long (default: 30)
  -h, --help               Show this help
  -V, --version            Show the version
`;

const encoder = new TextEncoder();

class UsageError extends Error {}

/** What the command was asked to do. */
interface Command {
  url: string;
  path: string;
  force: boolean;
  resume: boolean;
  maxRedirects: number | undefined;
  seconds: number;
}

/**
 * Runs the command with `fetch` (fetchToFile, given by http_fetch.ts);
 * returns the exit code.
 */
export async function main(
  args: string[],
  fetch: typeof fetchToFile,
): Promise<number> {
  try {
    const command = parseCommand(args);
    if (typeof command === "number") return command;
    return await download(command, fetch);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message.replace(/\s*\n\s*/g, " ")}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/** The command line's meaning, or the exit code once help or the version is shown. */
function parseCommand(args: string[]): Command | number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: "string", short: "o" },
        force: { type: "boolean", short: "f" },
        resume: { type: "boolean", short: "c" },
        "max-redirects": { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (error) {
    if (args.includes("--help") || args.includes("-h")) return help();
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\. To specify .*$/, ""));
  }
  const { values, positionals } = parsed;
  if (values.help) return help();
  if (values.version) {
    console.log(`${NAME} ${VERSION}`);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "Missing the URL to download (see --help)"
        : `Expected one URL, received ${positionals.length}`,
    );
  }
  const url = positionals[0]!;
  return {
    url,
    path: values.output ?? defaultName(url),
    force: values.force ?? false,
    resume: values.resume ?? false,
    maxRedirects: integerFlag(values["max-redirects"], "--max-redirects"),
    seconds: secondsFlag(values.timeout, "--timeout", 30),
  };
}

/** Downloads as `command` says, with a progress bar on a terminal. */
async function download(
  command: Command,
  fetch: typeof fetchToFile,
): Promise<number> {
  const { url, path, seconds } = command;
  await checkPermissions(path);
  if (!command.force) await checkAbsent(path);
  const controller = new AbortController();
  const interrupt = () =>
    controller.abort(new DOMException("Interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", interrupt);
  const bar = Deno.stderr.isTerminal() ? new ProgressBar() : undefined;
  try {
    const result = await fetch(url, path, {
      signal: controller.signal,
      timeout: seconds * 1000,
      idleTimeout: seconds * 1000,
      maxRedirects: command.maxRedirects,
      resume: command.resume,
      overwrite: command.force,
      onProgress: bar && ((progress) => bar.update(progress)),
    });
    const size = formatBytes(result.resumedFrom + result.bytesWritten);
    bar?.finish(`Saved "${path}" (${size})`);
    return 0;
  } catch (error) {
    bar?.finish();
    if (controller.signal.aborted && error === controller.signal.reason) {
      console.error(
        `error: Cannot download "${url}": interrupted${await resumeAdvice(
          command,
        )}`,
      );
      return 130;
    }
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
  }
}

/**
 * Offers `--resume` only when it would continue something: a partial file
 * with a validator was kept. A server that sends neither a strong ETag nor
 * a reliable Last-Modified leaves nothing to continue.
 */
async function resumeAdvice(command: Command): Promise<string> {
  if (!command.resume) return "";
  const partial = await readPartial(command.path).catch(() => undefined);
  return partial === undefined
    ? ", with nothing kept to resume"
    : `, ${partial.size} bytes kept: run again with --resume to continue`;
}

async function checkAbsent(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  throw new Error(
    `Cannot save "${path}": the file already exists (use --force to replace it)`,
  );
}

function help(): number {
  console.log(USAGE.trim());
  return 0;
}

function integerFlag(
  value: string | undefined,
  flag: string,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,6}$/.test(value)) {
    throw new UsageError(
      `Invalid ${flag} ${
        JSON.stringify(value)
      }: it must be a non-negative integer`,
    );
  }
  return Number(value);
}

function secondsFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const seconds = Number(value);
  if (!(value.trim() !== "" && seconds > 0 && Number.isFinite(seconds))) {
    throw new UsageError(
      `Invalid ${flag} ${
        JSON.stringify(value)
      }: it must be a positive number of seconds`,
    );
  }
  return seconds;
}

/** The last segment of the URL's path, if it makes a safe file name. */
export function defaultName(input: string): string {
  let segment = "";
  try {
    segment = new URL(input).pathname.split("/").at(-1) ?? "";
    segment = decodeURIComponent(segment);
  } catch {
    // An invalid URL fails properly in fetchToFile; a bad escape keeps the raw segment.
  }
  // A name from the network must not climb out of the current directory or
  // hide itself.
  if (
    segment === "" || segment.startsWith(".") || /[/\\]/.test(segment) ||
    [...segment].some((char) => char.charCodeAt(0) < 0x20)
  ) {
    return "index.html";
  }
  return segment;
}

/**
 * The download is renamed into place at the end, which needs read access to
 * the directory: ask for it now rather than fail after the download.
 */
async function checkPermissions(path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash === -1 ? "." : path.slice(0, slash + 1);
  const descriptor = { name: "read", path: dir } as const;
  let { state } = await Deno.permissions.query(descriptor);
  if (state === "prompt" && Deno.stdin.isTerminal()) {
    ({ state } = await Deno.permissions.request(descriptor));
  }
  if (state !== "granted") {
    throw new Error(
      `Cannot save "${path}": read access to "${dir}" is needed to move the download into place (run with --allow-read)`,
    );
  }
}

/** A one-line progress bar on stderr: bytes, percent, speed, time left. */
class ProgressBar {
  #samples: [number, number][] = [];
  #drawn = false;

  update({ received, total }: FetchProgress): void {
    const now = performance.now();
    this.#samples.push([now, received]);
    // Speed over the last five seconds: recent enough to follow changes,
    // long enough not to flicker.
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > 5000) {
      this.#samples.shift();
    }
    const [then, before] = this.#samples[0]!;
    const speed = now > then ? (received - before) / ((now - then) / 1000) : 0;
    let line = formatBytes(received);
    if (total !== undefined && total > 0) {
      const ratio = Math.min(received / total, 1);
      const width = 20;
      const filled = Math.round(ratio * width);
      line = `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${
        Math.floor(ratio * 100).toString().padStart(3)
      }%  ${line} / ${formatBytes(total)}`;
    }
    if (speed > 0) {
      line += `  ${formatBytes(speed)}/s`;
      if (total !== undefined && total > received) {
        line += `  ${formatDuration((total - received) / speed)} left`;
      }
    }
    this.#write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  finish(message?: string): void {
    if (this.#drawn) this.#write("\r\x1b[K");
    if (message) this.#write(`${message}\n`);
  }

  #write(text: string): void {
    const bytes = encoder.encode(text);
    for (let n = 0; n < bytes.length;) {
      n += Deno.stderr.writeSync(bytes.subarray(n));
    }
  }
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[unit]}`;
}

function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
