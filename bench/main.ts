// Copyright 2026 the tcp authors. MIT license.
/**
 * End-to-end load benchmark for `@netkit/tcp`.
 *
 * Every server runs in its own process and is driven by a separate load
 * generator written in C (`loadgen.c`, epoll), so the figures are the
 * servers', not the driver's: the C reference echo server
 * (`ref_echo_server.c`) in each table shows how far the load generator can
 * go. Downloads come from a C static file server (`file_server.c`, sendfile)
 * and each downloader runs in its own process, wrapped by `measure.c` for
 * wall time and peak memory. The C programs are compiled with `cc -O2` into a
 * cache directory on first use.
 *
 *   deno task bench            the full run (several minutes)
 *   deno task bench --quick    every workload briefly: a smoke test for CI
 *   deno task bench --only pingpong,idle --rounds 1
 *
 * Ratios compare with the plain `Deno.listen` loop (and, for downloads, with
 * `fetch` + `pipeTo` and `curl -o`) measured in the same run. Quick mode
 * fails only when something did not run; its ratios are too noisy to check.
 *
 * @module
 */

import { parseArgs } from "node:util";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const ROOT_DIR = new URL("..", import.meta.url).pathname;
const C_PROGRAMS = ["loadgen", "ref_echo_server", "file_server", "measure"];
const MIB = 1024 * 1024;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string" },
    duration: { type: "string" },
    servers: { type: "string" },
    candidate: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  console.log(
    `Usage: deno task bench [--quick] [--only WORKLOADS] [--rounds N] [--duration SECONDS]

  --quick      run every workload briefly (smoke test; ratios are not checked)
  --only       comma-separated subset of: ${
      ["pingpong", "bulk", "churn", "idle", "download"].join(", ")
    }
  --rounds     repetitions per figure; the median is shown
  --duration   measured seconds per echo figure`,
  );
  Deno.exit(0);
}

/** How long and how big each workload is. */
interface Settings {
  warmup: number;
  duration: number;
  rounds: number;
  idleConns: number;
  downloadBytes: number;
  downloadRounds: number;
  settle: number;
}

const settings: Settings = flags.quick
  ? {
    warmup: 0.25,
    duration: 1,
    rounds: 1,
    idleConns: 1000,
    downloadBytes: 64 * MIB,
    downloadRounds: 1,
    settle: 0.3,
  }
  : {
    // Short, interleaved rounds and a median: the machine is shared, and a
    // burst of someone else's work then spoils one sample, not the figure.
    warmup: 1,
    duration: 3,
    rounds: 7,
    idleConns: 10_000,
    downloadBytes: 1024 * MIB,
    downloadRounds: 5,
    settle: 1.5,
  };
if (flags.rounds !== undefined) {
  settings.rounds = settings.downloadRounds = positive("rounds", flags.rounds);
}
if (flags.duration !== undefined) {
  settings.duration = positive("duration", flags.duration);
}

const WORKLOADS = ["pingpong", "bulk", "churn", "idle", "download"] as const;
type Workload = typeof WORKLOADS[number];
const selected = new Set<Workload>(
  flags.only === undefined ? WORKLOADS : flags.only.split(",").map((w) => {
    if (!(WORKLOADS as readonly string[]).includes(w)) {
      throw new TypeError(
        `Cannot run workload "${w}": expected one of ${WORKLOADS.join(", ")}`,
      );
    }
    return w as Workload;
  }),
);

/** Children still running, killed if the benchmark is interrupted. */
const live = new Set<Deno.ChildProcess>();
Deno.addSignalListener("SIGINT", () => {
  for (const child of live) kill(child);
  Deno.exit(130);
});

const failures: string[] = [];
const results: Results = {};
const bin = await buildPrograms();
const hasNode = await succeeds(["node", "--version"]);
const hasCurl = await succeeds(["curl", "--version"]);

await printMachine();

const servers: ServerSpec[] = [
  { id: "ref", name: "C epoll reference", command: [`${bin}/ref_echo_server`] },
  {
    id: "ours",
    name: "TcpServer.serve, copyTo (ours)",
    command: denoRun("servers/ours.ts"),
    ours: true,
  },
  {
    id: "ours-loop",
    name: "TcpServer.serve, read()/write() loop",
    command: [...denoRun("servers/ours.ts"), "--loop"],
  },
  {
    id: "baseline",
    name: "Deno.listen loop, 64 KiB (baseline)",
    command: denoRun("servers/deno_plain.ts"),
    baseline: true,
  },
  {
    id: "plain256",
    name: "Deno.listen loop, 256 KiB (reference)",
    command: [...denoRun("servers/deno_plain.ts"), "256"],
  },
];
if (hasNode) {
  servers.push({
    id: "node",
    name: "node:net pipe",
    command: ["node", `${BENCH_DIR}servers/node_echo.mjs`],
  });
} else {
  console.log("node not found: the node:net row is skipped.\n");
}
if (flags.candidate !== undefined) {
  const dir = await Deno.realPath(flags.candidate);
  servers.push({
    id: "candidate",
    name: `TcpServer.serve (candidate: ${dir})`,
    command: [...denoRun("servers/ours.ts", `--allow-read=${dir}`), dir],
    moduleDir: dir,
  });
}
if (flags.servers !== undefined) {
  const wanted = flags.servers.split(",");
  servers.splice(
    0,
    servers.length,
    ...servers.filter((s) => wanted.includes(s.id)),
  );
}

if (selected.has("pingpong")) {
  await throughputWorkload({
    title: "Echo ping-pong: 50 connections, 64 B messages, one in flight each",
    mode: "pingpong",
    args: ["--conns", "50", "--size", "64"],
    unit: "round trips/s",
    perUnit: "round trip",
    value: (r) => r.ops / r.seconds,
    latency: true,
  });
}
if (selected.has("bulk")) {
  await throughputWorkload({
    title: "Bulk stream: 4 connections writing 64 KiB chunks, echoed back",
    mode: "bulk",
    args: ["--conns", "4", "--size", String(64 * 1024)],
    unit: "MiB/s echoed",
    perUnit: "MiB",
    value: (r) => r.bytes / r.seconds / MIB,
    latency: false,
  });
}
if (selected.has("churn")) {
  await throughputWorkload({
    title:
      "Connection churn: 50 at a time, each connect, one 64 B round trip, close",
    mode: "churn",
    // A reset instead of a FIN leaves no TIME_WAIT socket on the client side:
    // with FIN, 28k ephemeral ports run out within seconds and each connect
    // then searches TIME_WAIT buckets, so the client's kernel time, not the
    // server, would set the rate. Every server sees the same reset.
    args: ["--conns", "50", "--size", "64", "--rst", "1"],
    unit: "connections/s",
    perUnit: "connection",
    value: (r) => r.ops / r.seconds,
    latency: true,
  });
}
if (selected.has("idle")) await idleWorkload();
if (selected.has("download")) await downloadWorkload();

printTargets();
console.log(`Load average at the end: ${Deno.loadavg().join(" ")}`);
if (failures.length > 0) {
  console.error(`\n${failures.length} run(s) failed:`);
  for (const failure of failures) console.error(`- ${failure}`);
  Deno.exit(1);
}

// ---------------------------------------------------------------------------
// Workloads

interface ServerSpec {
  id: string;
  name: string;
  command: string[];
  ours?: boolean;
  baseline?: boolean;
  /** For the candidate: the module copy it loads. */
  moduleDir?: string;
}

/** One load generator report (see loadgen.c). */
interface LoadReport {
  seconds: number;
  ops: number;
  bytes: number;
  errors: number;
  loadgenCpu: number;
  serverCpu: number;
  /** The part of serverCpu spent in user mode: the server's own work. */
  serverUser: number;
  /** The part spent in the kernel, on the syscalls every Deno server makes alike. */
  serverSys: number;
  p50us?: number;
  p99us?: number;
}

interface Results {
  pingpong?: number;
  bulk?: number;
  churn?: number;
  idleKiB?: number;
  download?: {
    vsFetch?: number;
    vsCurl?: number;
    peakMiB?: number;
    smallPeakMiB?: number;
  };
}

interface ThroughputOptions {
  title: string;
  mode: "pingpong" | "bulk" | "churn";
  args: string[];
  unit: string;
  /** One of what `unit` counts per second, for the CPU-per-unit column. */
  perUnit: string;
  value: (r: LoadReport) => number;
  latency: boolean;
}

/**
 * Runs one echo workload against every server, `rounds` times each with a
 * fresh server process, rotating the order so that no server always runs
 * first or last on a noisy machine. Shows the median round.
 */
async function throughputWorkload(options: ThroughputOptions): Promise<void> {
  const samples = new Map<ServerSpec, LoadReport[]>();
  for (let round = 0; round < settings.rounds; round++) {
    for (const spec of rotate(servers, round)) {
      try {
        await using server = await startServer(spec);
        const report = await loadgen(options.mode, [
          ...options.args,
          "--port",
          String(server.port),
          "--server-pid",
          String(server.pid),
          "--warmup",
          String(settings.warmup),
          "--duration",
          String(settings.duration),
        ]);
        if (report.ops === 0) throw new Error("no operation completed");
        const list = samples.get(spec) ?? [];
        list[round] = report;
        samples.set(spec, list);
      } catch (error) {
        fail(`${options.mode} on ${spec.name}`, error);
      }
    }
  }
  const headers = [
    "Server",
    options.unit,
    "vs Deno.listen",
    "per server CPU-s, vs Deno.listen",
    `server CPU µs per ${options.perUnit}: user + kernel`,
  ];
  if (options.latency) headers.push("p50 / p99 µs");
  headers.push("server CPU", "loadgen CPU");
  const baseSpec = servers.find((spec) => spec.baseline);
  const baseList = baseSpec && samples.get(baseSpec);
  const vs = (list: LoadReport[], of: (r: LoadReport) => number) =>
    medianRatio(
      list,
      baseList,
      (r, b) => of(b) > 0 ? of(r) / of(b) : undefined,
    );
  const perCpu = (r: LoadReport) =>
    r.serverCpu > 0 ? options.value(r) / r.serverCpu : 0;
  const rows = servers.map((spec) => {
    const list = samples.get(spec) ?? [];
    const r = medianOfRounds(list, options.value);
    if (r === undefined) {
      return [spec.name, "failed", ...headers.slice(2).map(() => "")];
    }
    const value = options.value(r);
    const vsBase = vs(list, options.value);
    // Work per CPU second of the server: on a shared machine a server that
    // got less CPU than it wanted still shows its cost per operation.
    const vsBaseCpu = vs(list, perCpu);
    const row = [
      spec.name,
      formatNumber(value),
      vsBase === undefined ? "n/a" : ratio(vsBase),
      vsBaseCpu === undefined ? "n/a" : ratio(vsBaseCpu),
    ];
    row.push(cpuPerUnit(r, options.value));
    if (options.latency) row.push(`${r.p50us} / ${r.p99us}`);
    row.push(percent(r.serverCpu), percent(r.loadgenCpu));
    if (spec.ours && vsBase !== undefined) results[options.mode] = vsBase;
    return row;
  });
  printTable(options.title, headers, rows, roundsNote());
}

/**
 * Opens many connections that each make one round trip and then wait, and
 * reads the server's resident memory (VmRSS) before and after.
 */
async function idleWorkload(): Promise<void> {
  const n = settings.idleConns;
  const samples = new Map<ServerSpec, number[][]>();
  for (let round = 0; round < settings.rounds; round++) {
    for (const spec of rotate(servers, round)) {
      try {
        await using server = await startServer(spec);
        // Warm the echo path first so that code compiled on first use is
        // not counted as connection memory.
        await loadgen("pingpong", [
          "--port",
          String(server.port),
          "--conns",
          "10",
          "--warmup",
          "0",
          "--duration",
          "0.3",
        ]);
        await sleep(settings.settle);
        // The load generator reads the server's VmRSS before it connects and
        // once its connections have settled (Deno's permissions would want
        // --allow-all for /proc/PID/status).
        const holder = new Deno.Command(`${bin}/loadgen`, {
          args: [
            "idle",
            "--port",
            String(server.port),
            "--conns",
            String(n),
            "--server-pid",
            String(server.pid),
            "--settle",
            String(settings.settle),
          ],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        live.add(holder);
        const holderErrors = new Response(holder.stderr).text();
        const lines = holder.stdout.pipeThrough(new TextDecoderStream())
          .getReader();
        try {
          const first = await lines.read();
          if (first.done || !first.value.includes('"ready":true')) {
            throw new Error(
              `the load generator did not get its connections: ${
                (await holderErrors).trim()
              }`,
            );
          }
          const report = JSON.parse(first.value);
          if (report.rssBeforeKiB < 0 || report.rssAfterKiB < 0) {
            throw new Error("cannot read the server's VmRSS");
          }
          const list = samples.get(spec) ?? [];
          list[round] = [report.rssBeforeKiB, report.rssAfterKiB];
          samples.set(spec, list);
        } finally {
          // End of input tells the load generator to close its connections.
          await holder.stdin.close();
          while (!(await lines.read()).done);
          await holder.status;
          live.delete(holder);
        }
      } catch (error) {
        fail(`idle on ${spec.name}`, error);
      }
    }
  }
  const perConn = (s: number[]) => (s[1]! - s[0]!) / n;
  const baseSpec = servers.find((spec) => spec.baseline);
  const baseList = baseSpec && samples.get(baseSpec);
  const rows = servers.map((spec) => {
    const list = samples.get(spec) ?? [];
    const s = medianOfRounds(list, perConn);
    if (s === undefined) return [spec.name, "failed", "", "", ""];
    if (spec.ours) results.idleKiB = perConn(s);
    const vsBase = medianRatio(
      list,
      baseList,
      (mine, base) =>
        perConn(base) > 0 ? perConn(mine) / perConn(base) : undefined,
    );
    return [
      spec.name,
      `${(s[0]! / 1024).toFixed(1)} MiB`,
      `${(s[1]! / 1024).toFixed(1)} MiB`,
      `${perConn(s).toFixed(1)} KiB`,
      vsBase === undefined ? "n/a" : ratio(vsBase),
    ];
  });
  printTable(
    `Idle connections: ${
      n.toLocaleString("en-US")
    } open, each after one 64 B round trip`,
    [
      "Server",
      "RSS before",
      "RSS after",
      "per connection",
      "vs Deno.listen (lower is better)",
    ],
    rows,
    `VmRSS of the server process from /proc/PID/status; ${roundsNote()}`,
  );
}

interface Downloader {
  name: string;
  /** The command, given the URL and the output path. */
  command: (url: string, path: string) => string[];
  /** Writes nothing: the output file is not checked. */
  discards?: boolean;
  ours?: boolean;
  fetch?: boolean;
  curl?: boolean;
}

/**
 * Downloads one large file from the C file server with each downloader, each
 * in its own process, and records wall time and peak memory.
 */
async function downloadWorkload(): Promise<void> {
  const size = settings.downloadBytes;
  const small = Math.max(MIB, size / 16);
  // Source and output files live in memory (tmpfs) so no disk sets the pace.
  const shm = await isDirectory("/dev/shm") ? "/dev/shm" : undefined;
  const dir = await Deno.makeTempDir({ dir: shm, prefix: "netkit-bench-" });
  try {
    const www = `${dir}/www`;
    const out = `${dir}/out`;
    await Deno.mkdir(www);
    await Deno.mkdir(out);
    await writeFile(`${www}/big.bin`, size);
    await writeFile(`${www}/small.bin`, small);
    await using server = await startServer({
      id: "file_server",
      name: "file_server",
      command: [`${bin}/file_server`, www],
    });
    const base = `http://127.0.0.1:${server.port}`;
    const denoClient =
      (script: string, moduleDir?: string) => (url: string, path: string) => [
        Deno.execPath(),
        "run",
        "--quiet",
        // Deno grants files under /dev (tmpfs in /dev/shm included) only to
        // --allow-all; every client gets the same flags.
        ...(shm === undefined
          ? [
            "--allow-net=127.0.0.1",
            // The module too: fetch_to_file.ts imports http_fetch.ts by a
            // computed specifier, which needs read permission.
            `--allow-read=${out},${moduleDir ?? ROOT_DIR}`,
            `--allow-write=${out}`,
          ]
          : ["--allow-all"]),
        `${BENCH_DIR}clients/${script}`,
        url,
        path,
        ...(moduleDir === undefined ? [] : [moduleDir]),
      ];
    const downloaders: Downloader[] = [{
      name: "C read loop, discards (server capacity)",
      command: (url) => [
        `${bin}/loadgen`,
        "download",
        "--port",
        String(server.port),
        "--path",
        new URL(url).pathname,
      ],
      discards: true,
    }];
    const hasFetchToFile = await isFile(`${ROOT_DIR}http_fetch.ts`);
    if (hasFetchToFile) {
      downloaders.push({
        name: "fetchToFile (ours)",
        command: denoClient("fetch_to_file.ts"),
        ours: true,
      });
    } else {
      console.log(
        "http_fetch.ts does not exist yet: the fetchToFile row is skipped.\n",
      );
    }
    const candidate = servers.find((s) => s.id === "candidate")?.moduleDir;
    if (candidate !== undefined && await isFile(`${candidate}/http_fetch.ts`)) {
      downloaders.push({
        name: `fetchToFile (candidate: ${candidate})`,
        command: denoClient("fetch_to_file.ts", candidate),
      });
    }
    downloaders.push({
      name: "fetch + pipeTo (baseline)",
      command: denoClient("fetch_pipe.ts"),
      fetch: true,
    });
    if (hasCurl) {
      downloaders.push({
        name: "curl -o",
        command: (url, path) => ["curl", "-sS", "-o", path, url],
        curl: true,
      });
    } else {
      console.log("curl not found: the curl -o row is skipped.\n");
    }

    const samples = new Map<Downloader, Measured[]>();
    const smallSamples = new Map<Downloader, Measured[]>();
    for (let round = 0; round < settings.downloadRounds; round++) {
      for (const d of rotate(downloaders, round)) {
        for (
          const [file, bytes, into] of [
            ["big.bin", size, samples],
            ["small.bin", small, smallSamples],
          ] as const
        ) {
          try {
            const m = await measureDownload(d, `${base}/${file}`, out, bytes);
            const list = into.get(d) ?? [];
            list[round] = m;
            into.set(d, list);
          } catch (error) {
            fail(`download of ${file} with ${d.name}`, error);
          }
        }
      }
    }
    const byTime = (m: Measured) => -m.seconds;
    const speedupOver = (d: Downloader, base: Downloader | undefined) =>
      medianRatio(
        samples.get(d),
        base && samples.get(base),
        (mine, theirs) => theirs.seconds / mine.seconds,
      );
    const fetchBase = downloaders.find((d) => d.fetch);
    const curlBase = downloaders.find((d) => d.curl);
    const rows = downloaders.map((d) => {
      const m = medianOfRounds(samples.get(d), byTime);
      if (!m) return [d.name, "failed", "", "", "", "", ""];
      const speedup = (b: Downloader | undefined) => {
        const x = speedupOver(d, b);
        return x === undefined ? "n/a" : ratio(x);
      };
      const smallPeak = medianOfRounds(smallSamples.get(d), byTime)?.maxRssKiB;
      if (d.ours) {
        results.download = {
          vsFetch: speedupOver(d, fetchBase),
          vsCurl: speedupOver(d, curlBase),
          peakMiB: m.maxRssKiB / 1024,
          smallPeakMiB: smallPeak === undefined ? undefined : smallPeak / 1024,
        };
      }
      return [
        d.name,
        m.seconds.toFixed(3),
        formatNumber(size / MIB / m.seconds),
        speedup(fetchBase),
        speedup(curlBase),
        `${(m.maxRssKiB / 1024).toFixed(1)} MiB`,
        smallPeak === undefined ? "" : `${(smallPeak / 1024).toFixed(1)} MiB`,
      ];
    });
    printTable(
      `Download: ${formatBytes(size)} over HTTP/1.1 from a C sendfile server`,
      [
        "Client",
        "wall s",
        "MiB/s",
        "vs fetch+pipeTo",
        "vs curl -o",
        "peak RSS",
        `peak RSS, ${formatBytes(small)}`,
      ],
      rows,
      "wall time of the whole process (start-up included), peak RSS = " +
        `ru_maxrss (VmHWM); files in ${dir} (${
          shm === undefined
            ? "a disk: fetchToFile's fdatasync, which the others skip, counts"
            : "tmpfs"
        }); ` +
        `median of ${settings.downloadRounds} by wall time; ratios are the ` +
        "median of each round's ratio",
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

interface Measured {
  seconds: number;
  maxRssKiB: number;
  exitCode: number;
}

async function measureDownload(
  d: Downloader,
  url: string,
  outDir: string,
  bytes: number,
): Promise<Measured> {
  const path = `${outDir}/download.bin`;
  const report = `${outDir}/../measure.json`;
  await Deno.remove(path).catch(() => {});
  const { success, stderr, stdout } = await new Deno.Command(
    `${bin}/measure`,
    {
      args: [report, ...d.command(url, path)],
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  if (!success) {
    throw new Error(
      new TextDecoder().decode(stderr).trim() || "exited with an error",
    );
  }
  const m: Measured = JSON.parse(await Deno.readTextFile(report));
  if (d.discards) {
    const got = JSON.parse(new TextDecoder().decode(stdout)).bytes;
    if (got !== bytes) throw new Error(`received ${got} of ${bytes} bytes`);
  } else {
    const got = (await Deno.stat(path)).size;
    if (got !== bytes) throw new Error(`wrote ${got} of ${bytes} bytes`);
    // Frees the memory the tmpfs file holds before the next download.
    await Deno.remove(path);
  }
  return m;
}

// ---------------------------------------------------------------------------
// Processes

interface RunningServer extends AsyncDisposable {
  pid: number;
  port: number;
}

/**
 * Starts a server with the file limit raised to the hard limit (10,000 idle
 * connections need more than the usual soft limit of 1,024) and waits for
 * the port it prints.
 */
async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'ulimit -n "$(ulimit -Hn)" && exec "$@"',
      "sh",
      ...spec.command,
    ],
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT_DIR,
  }).spawn();
  live.add(child);
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    kill(child);
    await child.status;
    live.delete(child);
  };
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("no port printed within 20 s")),
        20_000,
      );
    });
    while (!text.includes("\n")) {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk.done) {
        throw new Error(`exited early: ${(await stderr).trim()}`);
      }
      text += chunk.value;
    }
  } catch (error) {
    await stop();
    throw new Error(`Cannot start "${spec.name}"`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  const port = Number(text.trim().split("\n")[0]);
  return {
    pid: child.pid,
    port,
    async [Symbol.asyncDispose]() {
      await stop();
      // A server that complains is worth knowing about, but once is enough.
      const lines = (await stderr).trim().split("\n").filter((l) => l !== "");
      if (lines.length > 0) {
        console.error(
          `[${spec.name}] ${lines.length} line(s) on stderr, the first: ${
            lines[0]!.slice(0, 300)
          }`,
        );
      }
    },
  };
}

async function loadgen(mode: string, args: string[]): Promise<LoadReport> {
  const { success, stdout, stderr } = await new Deno.Command(
    `${bin}/loadgen`,
    { args: [mode, ...args], stdout: "piped", stderr: "piped" },
  ).output();
  const text = new TextDecoder().decode(stdout).trim();
  if (!success || text === "") {
    throw new Error(
      `loadgen ${mode} failed: ${new TextDecoder().decode(stderr).trim()}`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Compiles the C programs with `cc -O2` into a cache directory named after a
 * hash of their sources and the compiler version, so they are built once.
 */
async function buildPrograms(): Promise<string> {
  const cc = Deno.env.get("CC") ?? "cc";
  const version = await new Deno.Command(cc, { args: ["--version"] }).output()
    .catch(() => undefined);
  if (!version?.success) {
    throw new Error(`Cannot build the load generator: "${cc}" was not found`);
  }
  const sources = await Promise.all(
    C_PROGRAMS.map((name) => Deno.readFile(`${BENCH_DIR}${name}.c`)),
  );
  const hash = await sha256([version.stdout, ...sources]);
  const cache = Deno.env.get("XDG_CACHE_HOME") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache` : "/tmp");
  const dir = `${cache}/netkit-tcp-bench/${hash.slice(0, 16)}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const name of C_PROGRAMS) {
    const target = `${dir}/${name}`;
    if (await isFile(target)) continue;
    // Built under a temporary name and renamed, so a concurrent run never
    // sees half a binary.
    const temp = `${target}.${Deno.pid}`;
    const { success, stderr } = await new Deno.Command(cc, {
      args: ["-O2", "-Wall", "-o", temp, `${BENCH_DIR}${name}.c`],
    }).output();
    if (!success) {
      throw new Error(
        `Cannot compile ${name}.c: ${new TextDecoder().decode(stderr)}`,
      );
    }
    await Deno.rename(temp, target);
  }
  return dir;
}

// ---------------------------------------------------------------------------
// Reporting

function printTargets(): void {
  const rows: string[][] = [];
  const check = (
    target: string,
    value: number | undefined,
    shown: (v: number) => string,
    holds: (v: number) => boolean,
  ) => {
    if (value === undefined) rows.push([target, "not measured", ""]);
    else rows.push([target, shown(value), holds(value) ? "yes" : "NO"]);
  };
  check("echo ping-pong >= 1.0x", results.pingpong, ratio, (v) => v >= 1.0);
  check("bulk stream >= 1.3x", results.bulk, ratio, (v) => v >= 1.3);
  check("connection churn >= 0.95x", results.churn, ratio, (v) => v >= 0.95);
  check(
    `idle connection <= 12 KiB (at ${settings.idleConns})`,
    results.idleKiB,
    (v) => `${v.toFixed(1)} KiB`,
    (v) => v <= 12,
  );
  const d = results.download;
  check("fetchToFile >= 1.2x fetch+pipeTo", d?.vsFetch, ratio, (v) => v >= 1.2);
  check("fetchToFile >= 2x curl -o", d?.vsCurl, ratio, (v) => v >= 2);
  check(
    "fetchToFile peak memory <= 64 MiB",
    d?.peakMiB,
    (v) => `${v.toFixed(1)} MiB`,
    (v) => v <= 64,
  );
  const growth = d?.peakMiB !== undefined && d.smallPeakMiB !== undefined
    ? d.peakMiB - d.smallPeakMiB
    : undefined;
  check(
    "fetchToFile peak memory independent of size (within 8 MiB)",
    growth,
    (v) => `${v >= 0 ? "+" : ""}${v.toFixed(1)} MiB for 16x the bytes`,
    (v) => v <= 8,
  );
  printTable(
    "Targets (ratios to the baselines of this run)",
    ["Target", "measured", "holds"],
    rows,
    flags.quick
      ? "quick mode: figures are too short to judge; nothing is checked"
      : undefined,
  );
}

async function printMachine(): Promise<void> {
  const version = async (cmd: string[]) => {
    const out = await new Deno.Command(cmd[0]!, { args: cmd.slice(1) })
      .output().catch(() => undefined);
    return out?.success
      ? new TextDecoder().decode(out.stdout).split("\n")[0]!.trim()
      : "absent";
  };
  // Deno wants --allow-all to read /proc directly; grep may.
  const model = (await version(["grep", "-m1", "model name", "/proc/cpuinfo"]))
    .replace(/^model name\s*:\s*/, "");
  const memory = Deno.systemMemoryInfo();
  console.log(`# @netkit/tcp benchmark${flags.quick ? " (quick)" : ""}\n`);
  console.log(
    `- Machine: ${navigator.hardwareConcurrency} x ${model}, ${
      (memory.total / 1024 ** 3).toFixed(0)
    } GiB, Linux ${Deno.osRelease()}, load average ${Deno.loadavg().join(" ")}`,
  );
  console.log(
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); node ${
      hasNode ? await version(["node", "--version"]) : "absent"
    }; ${
      (await version(["curl", "--version"])).split(" ").slice(0, 2).join(" ")
    }; ${await version([
      Deno.env.get("CC") ?? "cc",
      "--version",
    ])}`,
  );
  console.log(
    `- Echo figures: ${settings.warmup} s warm-up + ${settings.duration} s measured, median of ${settings.rounds}, a fresh server process each time`,
  );
  console.log(`- C programs: ${bin}\n`);
}

function printTable(
  title: string,
  headers: string[],
  rows: string[][],
  note?: string,
): void {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) =>
        i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)
      )
        .join(" | ")
    } |`;
  console.log(`## ${title}\n`);
  console.log(line(headers));
  console.log(
    `| ${
      widths.map((w, i) => i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")
        .join(" | ")
    } |`,
  );
  for (const row of rows) console.log(line(row));
  if (note) console.log(`\n${note}`);
  console.log("");
}

function roundsNote(): string {
  return `median of ${settings.rounds} round(s), a fresh server process each; ` +
    "ratios are the median of each round's ratio to the baseline";
}

function fail(what: string, error: unknown): void {
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.cause instanceof Error) {
    message += `: ${error.cause.message}`;
  }
  failures.push(`${what}: ${message}`);
  console.error(`FAILED ${what}: ${message}`);
}

// ---------------------------------------------------------------------------
// Helpers

function denoRun(script: string, ...permissions: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-net=127.0.0.1",
    ...permissions,
    `${BENCH_DIR}${script}`,
  ];
}

/**
 * The median sample of the rounds that produced one (a failed round leaves a
 * hole in the list), or `undefined` if none did.
 */
function medianOfRounds<T>(
  list: readonly T[] | undefined,
  key: (item: T) => number,
): T | undefined {
  const got = (list ?? []).filter((item) => item !== undefined);
  return got.length === 0 ? undefined : medianBy(got, key);
}

/**
 * The median of `of(mine, base)` taken round by round, over the rounds
 * both lists have; `undefined` if there is none. Runs of one round are
 * minutes apart at most, so the machine's drift over a whole run, which a
 * ratio of medians taken at different times would carry, cancels out.
 */
function medianRatio<T>(
  mine: readonly T[] | undefined,
  base: readonly T[] | undefined,
  of: (mine: T, base: T) => number | undefined,
): number | undefined {
  const ratios = (mine ?? []).flatMap((m, round) => {
    const b = base?.[round];
    const x = m === undefined || b === undefined ? undefined : of(m, b);
    return x === undefined ? [] : [x];
  });
  return ratios.length === 0 ? undefined : medianBy(ratios, (x) => x);
}

/** The element whose key is the median; for an even count, the lower one. */
function medianBy<T>(list: T[], key: (item: T) => number): T {
  const sorted = [...list].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Writes `size` bytes of incompressible data. */
async function writeFile(path: string, size: number): Promise<void> {
  const chunk = new Uint8Array(8 * MIB);
  for (let i = 0; i < chunk.length; i += 65536) {
    crypto.getRandomValues(chunk.subarray(i, i + 65536));
  }
  using file = await Deno.open(path, { write: true, create: true });
  for (let written = 0; written < size;) {
    const piece = chunk.subarray(0, Math.min(chunk.length, size - written));
    for (let off = 0; off < piece.length;) {
      off += await file.write(piece.subarray(off));
    }
    written += piece.length;
  }
}

async function succeeds(cmd: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  return out?.success ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => undefined))?.isFile ?? false;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => undefined))?.isDirectory ?? false;
}

async function sha256(parts: Uint8Array[]): Promise<string> {
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", total);
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!(value > 0)) {
    throw new RangeError(
      `Cannot run with --${name} "${text}": it must be a positive number`,
    );
  }
  return value;
}

function ratio(value: number): string {
  return `${value.toFixed(2)}x`;
}

/**
 * The server's CPU time per unit of work, user and kernel apart: every Deno
 * server makes the same syscalls per message, so the user part is what a
 * server adds on top of the kernel's work, and it is less noisy than a rate.
 */
function cpuPerUnit(r: LoadReport, value: (r: LoadReport) => number): string {
  const rate = value(r);
  if (r.serverUser < 0 || rate <= 0) return "n/a";
  const us = (fraction: number) => {
    const x = fraction / rate * 1e6;
    return x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0);
  };
  return `${us(r.serverUser)} + ${us(r.serverSys)}`;
}

function percent(fraction: number): string {
  return fraction < 0 ? "n/a" : `${Math.round(fraction * 100)}%`;
}

function formatNumber(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * MIB
    ? `${bytes / (1024 * MIB)} GiB`
    : `${bytes / MIB} MiB`;
}
