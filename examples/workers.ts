// Copyright 2026 the tcp authors. MIT license.
/**
 * One port served by several processes, one per CPU core by default: each
 * worker is this program run again in worker mode, listening with
 * `reusePort`, and Linux spreads new connections over them. SIGHUP restarts
 * the workers one at a time, each new one listening before the old one
 * drains, so the port never closes; Ctrl-C (or SIGTERM) stops them all
 * gracefully, and a second one at once. Each worker greets a client with its
 * process id and echoes its lines.
 *
 * ```sh
 * deno run --allow-run examples/workers.ts --workers 4   # 127.0.0.1:8003
 * nc 127.0.0.1 8003       # Hello from worker 12345!, then echoes each line
 * kill -HUP <parent pid>  # new workers, one at a time, the port open throughout
 * ```
 *
 * @module
 */

import { LimitExceededError, type TcpConnection, TcpServer } from "../mod.ts";
import {
  hostPort,
  onTerminate,
  parseFlags,
  parsePort,
  parsePositiveInteger,
  readLines,
  run,
  serveUntilStopped,
  UsageError,
} from "./_cli.ts";

const USAGE = `
Usage: deno run --allow-run examples/workers.ts [options]

Serves one port with several worker processes, each listening with
reusePort (SO_REUSEPORT): the kernel spreads new connections over them, so
the server uses every core. Each worker greets a client with "Hello from
worker <pid>!" and sends back every line. The workers run as
"deno run --unstable-net --allow-net" (reusePort needs that flag in
Deno 2.9).

  SIGHUP           Restart the workers one at a time: each new worker
                   listens before the old one drains, so the port stays open
  Ctrl-C, SIGTERM  Stop every worker gracefully; again to stop them at once

Linux only: Deno ignores reusePort elsewhere, so a second worker cannot
listen. A worker that stops resets the connections still waiting in its own
accept queue; "sysctl net.ipv4.tcp_migrate_req=1" (Linux 5.14+) hands them
to the other workers instead.

Options:
  --hostname HOST  Address to listen on (default: 127.0.0.1; 0.0.0.0 for all)
  --port PORT      Port to listen on, 0 for any free one (default: 8003)
  --workers N      How many worker processes (default: the number of CPUs)
  -h, --help       Show this help
  -V, --version    Show the version
`;

const MAX_LINE = 1024;

/** What each worker does with a connection: greet it, then echo its lines. */
async function hello(conn: TcpConnection): Promise<void> {
  await conn.write(`Hello from worker ${Deno.pid}!\n`);
  try {
    for await (const line of conn.lines({ maxLength: MAX_LINE })) {
      await conn.write(`${line}\n`);
    }
  } catch (error) {
    // A restart or a stop: the waiting read ended, writing still works.
    if (error === conn.signal.reason) {
      await conn.write(`Worker ${Deno.pid} is stopping, goodbye!\n`);
      return;
    }
    if (!(error instanceof LimitExceededError)) throw error;
    await conn.write(`Error: lines are limited to ${MAX_LINE} bytes\n`);
  }
}

/** Worker mode: serve until SIGTERM, or until the parent goes away. */
async function serveAsWorker(hostname: string, port: number): Promise<void> {
  const server = TcpServer.listen({ hostname, port, reusePort: true });
  // The parent holds our stdin open and never writes: its end means the
  // parent is gone, and nobody else would stop us.
  const served = new AbortController();
  (async () => {
    for await (const _ of readLines(Deno.stdin.readable, served)) {
      // Nothing is expected.
    }
    if (!served.signal.aborted) await server.shutdown({ timeout: 5000 });
  })();
  try {
    await serveUntilStopped(server, hello);
  } finally {
    served.abort();
  }
}

/** A worker process, as the parent sees it. */
interface Worker {
  pid: number;
  child: Deno.ChildProcess;
  /** Resolves with the exit code once the worker has exited. */
  exited: Promise<number>;
  /** Set when the parent stopped it on purpose. */
  stopped?: boolean;
}

/**
 * Starts a worker on `port` (0: any free one) and waits until it listens.
 *
 * @returns The worker and the port it listens on.
 */
async function startWorker(
  hostname: string,
  port: number,
): Promise<{ worker: Worker; port: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      "--allow-net",
      import.meta.url,
      "--worker",
      "--hostname",
      hostname,
      "--port",
      String(port),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    // A session of its own: Ctrl-C in a terminal reaches only the parent,
    // which then tells each worker, once.
    detached: true,
  }).spawn();
  const pid = child.pid;
  let listening = (_port: number) => {};
  const ready = new Promise<number>((resolve) => listening = resolve);
  // Its output, line by line, with its pid in front.
  const output = (async () => {
    let pending = "";
    for await (
      const text of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      pending += text;
      let newline;
      while ((newline = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const match = /^listening on .*:(\d+)$/.exec(line);
        if (match) listening(Number(match[1]));
        console.log(`worker ${pid}: ${line}`);
      }
    }
  })();
  const exited = Promise.all([child.status, output]).then(([status]) =>
    status.code
  );
  const worker: Worker = { pid, child, exited };
  const listeningPort = await Promise.race([
    ready,
    exited.then((code): never => {
      throw new Error(
        `Worker ${pid} exited with code ${code} before listening`,
      );
    }),
  ]);
  return { worker, port: listeningPort };
}

/** Asks a worker to stop: gracefully the first time, at once the second. */
function stopWorker(worker: Worker): void {
  worker.stopped = true;
  try {
    worker.child.kill("SIGTERM");
  } catch {
    // It has exited already.
  }
}

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(USAGE, {
    args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8003" },
      workers: { type: "string" },
      worker: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const hostname = flags.hostname;
  let port = parsePort(flags.port, { allowZero: true });
  if (flags.worker) return await serveAsWorker(hostname, port);
  const count = flags.workers === undefined
    ? navigator.hardwareConcurrency
    : parsePositiveInteger(flags.workers, "--workers");
  if (count > 256) {
    throw new UsageError(`Invalid --workers ${count}: at most 256`);
  }

  const workers = new Set<Worker>();
  let stopping = false;
  let failed = 0;
  /** Starts a worker and keeps it in `workers` until it exits. */
  const spawn = async (): Promise<Worker> => {
    const { worker, port: bound } = await startWorker(hostname, port);
    port = bound;
    workers.add(worker);
    worker.exited.then((code) => {
      workers.delete(worker);
      if (code !== 0) failed++;
      if (!worker.stopped) {
        console.log(
          `worker ${worker.pid} exited with code ${code}, ${workers.size} left`,
        );
      }
    });
    // Stopped while it started: it stops too.
    if (stopping) stopWorker(worker);
    return worker;
  };

  using _signals = onTerminate((signal, signals) => {
    stopping = true;
    if (signals === 1) {
      console.log(
        `${signal}: stopping ${workers.size} workers (again to stop at once)`,
      );
    }
    for (const worker of workers) stopWorker(worker);
  });

  // SIGHUP: each worker in turn makes way for a new one that listens first.
  let restarting: Promise<void> | undefined;
  const restart = async () => {
    console.log(`SIGHUP: restarting ${workers.size} workers one at a time`);
    for (const old of [...workers]) {
      if (stopping) return;
      let fresh;
      try {
        fresh = await spawn();
      } catch (error) {
        console.error(`error: ${(error as Error).message}; keeping ${old.pid}`);
        continue;
      }
      stopWorker(old);
      await old.exited;
      console.log(`worker ${old.pid} replaced by ${fresh.pid}`);
    }
    console.log("restarted");
  };
  const onHangup = () => {
    restarting ??= restart().finally(() => restarting = undefined);
  };
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGHUP", onHangup);

  try {
    // The first worker picks the port when --port is 0; the others share it.
    for (let i = 0; i < count && !stopping; i++) await spawn();
  } catch (error) {
    stopping = true;
    for (const worker of workers) stopWorker(worker);
    throw error;
  }
  if (!stopping) {
    console.log(`listening on ${hostPort({ hostname, port })}`);
    console.log(
      `${count} workers: ${[...workers].map((w) => w.pid).join(", ")}`,
    );
  }
  // Until every worker has exited, including those started meanwhile.
  while (workers.size > 0 || restarting) {
    await Promise.all([...workers].map((w) => w.exited));
    await restarting;
  }
  if (Deno.build.os !== "windows") {
    Deno.removeSignalListener("SIGHUP", onHangup);
  }
  console.log(`stopped${failed > 0 ? `: ${failed} workers failed` : ""}`);
  if (failed > 0) Deno.exit(1);
}

if (import.meta.main) await run(main);
