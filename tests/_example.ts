// Copyright 2026 the tcp authors. MIT license.
// Runs an example as a subprocess, the way a reader would (or another
// program: a Python port, nc), and gives tests its stdout line by line with
// every wait bounded, so that a broken example fails a test instead of
// hanging it. Also: finding a real program (nginx, HAProxy) and waiting for
// it to be ready.

import assert from "node:assert/strict";

const EXAMPLES = new URL("../examples/", import.meta.url);
const DEFAULT_TIMEOUT = 10_000;

/** Rejects with a message naming `what` if `promise` takes longer than `ms`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  what: string,
  ms = DEFAULT_TIMEOUT,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How to start a process other than `deno run --allow-net examples/NAME`. */
export interface SpawnOptions {
  /**
   * The program and the arguments before `args`, for something other than
   * an example: `["python3", "-u", "server.py"]`, `["nc", "-N"]`.
   */
  command?: string[];
  /** Deno's permission flags for an example (default: `["--allow-net"]`). */
  permissions?: string[];
  /** The working directory (default: this process's). */
  cwd?: string;
}

/** How a finished example ended. */
export interface ExampleResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/**
 * An example running as `deno run --allow-net examples/NAME.ts ARGS` (or
 * another program, see {@linkcode SpawnOptions}), with piped stdin, stdout
 * and stderr. Disposing it stops it (SIGTERM, then SIGKILL) and waits for it
 * and for its pipes, which the sanitizers require.
 */
export class ExampleProcess implements AsyncDisposable {
  readonly name: string;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #lines: string[] = [];
  #partial = "";
  #stdout = "";
  #stderr = "";
  #stdoutEnded = false;
  #wake: (() => void) | undefined;
  #pumps: Promise<void>;
  #status: Promise<Deno.CommandStatus>;

  constructor(name: string, args: string[], options: SpawnOptions = {}) {
    this.name = name;
    // The example servers listen on every interface by default; tests must
    // never be reachable from outside the machine.
    if (
      options.command === undefined && name.endsWith("_server.ts") &&
      args.includes("--port") && !args.includes("--hostname")
    ) {
      throw new Error(
        `${name} would listen on its default address: pass --hostname 127.0.0.1`,
      );
    }
    const [program, ...before] = options.command ?? [
      Deno.execPath(),
      "run",
      ...(options.permissions ?? ["--allow-net"]),
      new URL(name, EXAMPLES).pathname,
    ];
    this.#child = new Deno.Command(program!, {
      args: [...before, ...args],
      cwd: options.cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // Python prints UTF-8 to a pipe whatever the locale says.
      env: { NO_COLOR: "1", PYTHONIOENCODING: "utf-8" },
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#status = this.#child.status;
    this.#pumps = Promise.all([
      this.#pump(this.#child.stdout, (text) => this.#onStdout(text)).finally(
        () => {
          this.#stdoutEnded = true;
          if (this.#partial !== "") this.#lines.push(this.#partial);
          this.#partial = "";
          this.#wakeUp();
        },
      ),
      this.#pump(this.#child.stderr, (text) => this.#stderr += text),
    ]).then(() => {});
  }

  /** The process's id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything written to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The next stdout line not yet read, or `null` once stdout has ended. */
  async readLine(timeout = DEFAULT_TIMEOUT): Promise<string | null> {
    const deadline = Date.now() + timeout;
    while (this.#lines.length === 0 && !this.#stdoutEnded) {
      const left = deadline - Date.now();
      if (left <= 0) throw this.#stuck("a line", timeout);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#lines.shift() ?? null;
  }

  /**
   * Waits until everything written to stdout so far passes `test`, and
   * returns it: for output that does not end with a newline, such as a
   * prompt. Does not consume lines.
   */
  async waitForStdout(
    test: (stdout: string) => boolean,
    what: string,
    timeout = DEFAULT_TIMEOUT,
  ): Promise<string> {
    const deadline = Date.now() + timeout;
    while (!test(this.#stdout)) {
      if (this.#stdoutEnded) {
        throw new Error(
          `${this.name} ended its output without ${what}:\n${this.#report()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) throw this.#stuck(what, timeout);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#stdout;
  }

  /** Reads stdout lines until one matches, and returns it. */
  async waitForLine(
    pattern: RegExp,
    timeout = DEFAULT_TIMEOUT,
  ): Promise<string> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw this.#stuck(`a line matching ${pattern}`, timeout);
      const line = await this.readLine(left).catch(() => {
        throw this.#stuck(`a line matching ${pattern}`, timeout);
      });
      if (line === null) {
        throw new Error(
          `${this.name} ended its output without a line matching ${pattern}:\n${this.#report()}`,
        );
      }
      if (pattern.test(line)) return line;
    }
  }

  /** Waits for `listening on HOST:PORT` and returns the port. */
  async listeningPort(): Promise<number> {
    const line = await this.waitForLine(/^listening on /);
    const match = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    if (!match) throw new Error(`${this.name} printed ${JSON.stringify(line)}`);
    return Number(match[1]);
  }

  /** Writes text to the example's stdin. */
  async write(text: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  /** Ends the example's stdin. */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    // The example may have exited already and closed its end.
    await this.#stdin.close().catch(() => {});
  }

  /** Sends a signal, such as the SIGTERM that stops a server. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch (error) {
      // It has exited already; its status says how.
      if (!(error instanceof TypeError)) throw error;
    }
  }

  /**
   * Waits for the example to exit by itself and returns how it ended with all
   * of its output. Ends its stdin first unless `closeStdin` is false. Kills it
   * if it takes longer than `timeout`, and then fails.
   */
  async finish(
    { timeout = DEFAULT_TIMEOUT, closeStdin = true } = {},
  ): Promise<ExampleResult> {
    if (closeStdin) await this.closeStdin();
    let status: Deno.CommandStatus;
    try {
      status = await withTimeout(this.#status, `${this.name} to exit`, timeout);
    } catch (error) {
      this.kill("SIGKILL");
      await this.#status;
      await this.closeStdin();
      await this.#pumps;
      throw new Error(`${(error as Error).message}:\n${this.#report()}`);
    }
    await this.closeStdin();
    await this.#pumps;
    return {
      code: status.code,
      signal: status.signal,
      stdout: this.#stdout,
      stderr: this.#stderr,
    };
  }

  /** Sends `signal` and waits for the example to exit. */
  stop(signal: Deno.Signal = "SIGTERM"): Promise<ExampleResult> {
    this.kill(signal);
    return this.finish();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeStdin();
    this.kill("SIGTERM");
    const exited = await withTimeout(this.#status, "exit", 5000).then(
      () => true,
      () => false,
    );
    if (!exited) this.kill("SIGKILL");
    await this.#status;
    await this.#pumps;
  }

  async #pump(
    stream: ReadableStream<Uint8Array>,
    onText: (text: string) => void,
  ): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      onText(text);
    }
  }

  #onStdout(text: string): void {
    this.#stdout += text;
    const parts = (this.#partial + text).split("\n");
    this.#partial = parts.pop()!;
    this.#lines.push(...parts.map((line) => line.replace(/\r$/, "")));
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #stuck(what: string, timeout: number): Error {
    return new Error(
      `Timed out after ${timeout} ms waiting for ${what} from ${this.name}:\n${this.#report()}`,
    );
  }

  #report(): string {
    return `--- stdout ---\n${this.#stdout}--- stderr ---\n${this.#stderr}`;
  }
}

/** Starts an example; dispose it (`await using`) to stop it. */
export function spawnExample(
  name: string,
  args: string[] = [],
  options: SpawnOptions = {},
): ExampleProcess {
  return new ExampleProcess(name, args, options);
}

/** Runs an example to its end with `input` on stdin. */
export async function runExample(
  name: string,
  args: string[] = [],
  input = "",
): Promise<ExampleResult> {
  await using example = spawnExample(name, args);
  // An example that exits without reading (--help, a bad flag) closes its
  // stdin first; its result says what happened.
  if (input !== "") await example.write(input).catch(() => {});
  return await example.finish();
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Checks that a command failed with one line on stderr and no stack trace. */
export function assertOneErrorLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /^\s+at /m);
}

/** Finds a program on PATH or in the sbin directories a user's PATH lacks. */
export function findProgram(name: string): string | undefined {
  const dirs = [
    ...(Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== ""),
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
  ];
  for (const dir of dirs) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/** Waits until `test` returns something other than undefined. */
export async function until<T>(
  test: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeout = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await test();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
