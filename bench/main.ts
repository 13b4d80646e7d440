// Copyright 2026 the tcp authors. MIT license.
/**
 * End-to-end load benchmark for `@netkit/tcp`.
 *
 * Every server runs in its own process and is driven by a separate load
 * generator written in C (`loadgen.c`, epoll, OpenSSL for TLS), so the
 * figures are the servers', not the driver's: the C reference echo server
 * (`ref_echo_server.c`, with OpenSSL in the TLS tables) in each table shows
 * how far the load generator can go. Downloads come from a C static file server (`file_server.c`,
 * sendfile, or OpenSSL for HTTPS) and each downloader runs in its own
 * process, wrapped by `measure.c` for wall time and peak memory. The C
 * programs are compiled with `cc -O2` into a cache directory on first use,
 * with TLS where OpenSSL's headers (Debian's `libssl-dev`) are installed.
 *
 *   deno task bench            the full run (several minutes)
 *   deno task bench --quick    every workload briefly: a smoke test for CI
 *   deno task bench --only pingpong,idle --rounds 1
 *
 * Ratios compare with the plain `Deno.listen` loop (`Deno.listenTls` in the
 * TLS tables; and, for downloads, with `fetch` + `pipeTo` and `curl -o`)
 * measured in the same run. Rows for HAProxy, Node and Bun appear when
 * `haproxy`, `node` and `bun` are on the PATH. Quick mode fails only when
 * something did not run; its ratios are too noisy to check.
 *
 * @module
 */

import { parseArgs } from "node:util";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const ROOT_DIR = new URL("..", import.meta.url).pathname;
const TESTDATA = `${ROOT_DIR}tests/testdata`;
const CERT = `${TESTDATA}/cert.pem`;
const KEY = `${TESTDATA}/key.pem`;
const C_PROGRAMS = ["loadgen", "ref_echo_server", "file_server", "measure"];
/** The programs that speak TLS when OpenSSL is there to link with. */
const TLS_PROGRAMS = ["loadgen", "ref_echo_server", "file_server"];
const MIB = 1024 * 1024;
/**
 * The chunk size of the chunked download: a server that streams what it
 * generates sends a chunk per write of its own, often a few KiB to tens of
 * KiB.
 */
const CHUNK_SIZE = 16 * 1024;

const WORKLOADS = [
  "pingpong",
  "bulk",
  "churn",
  "idle",
  "download",
  "tls-pingpong",
  "tls-bulk",
  "tls-churn",
  "https-download",
  "https-chunked",
] as const;
type Workload = typeof WORKLOADS[number];

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
                        [--servers IDS] [--candidate DIR]

  --quick      run every workload briefly (smoke test; ratios are not checked)
  --only       comma-separated subset of: ${WORKLOADS.join(", ")}
  --rounds     repetitions per figure; the median is shown
  --duration   measured seconds per echo figure
  --servers    comma-separated server ids to keep: ref, ours, ours-loop,
               ours-proxy, ours-admission, haproxy, reuseport, baseline,
               plain256, gather, node, bun,
               candidate
  --candidate  another copy of the module, measured beside this one`,
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
const results: Results = { echo: {} };
const { dir: bin, tls: hasTls } = await buildPrograms();
const hasNode = await succeeds(["node", "--version"]);
const hasBun = await succeeds(["bun", "--version"]);
const hasCurl = await succeeds(["curl", "--version"]);
const hasHaproxy = await succeeds(["haproxy", "-v"]);

await printMachine();

const readCert = `--allow-read=${TESTDATA}`;
const candidateDir = flags.candidate === undefined
  ? undefined
  : await Deno.realPath(flags.candidate);

/** The servers of the plain echo tables, in the order they are shown. */
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
    // Each connection's first write carries a PROXY v2 header, read before
    // the handler runs: the cost of proxyProtocol, paid once per connection.
    id: "ours-proxy",
    name: "TcpServer.serve, copyTo, PROXY v2 headers",
    command: [...denoRun("servers/ours.ts"), "--proxy"],
    loadgenArgs: ["--proxy-v2", "1"],
    tables: ["churn"],
  },
  {
    // Every rule of issue 12 on, none refusing the load generator: the cost
    // of deciding, paid once per connection.
    id: "ours-admission",
    name:
      "TcpServer.serve, copyTo, admission (1,000 denied CIDRs, per-client cap, rate)",
    command: [...denoRun("servers/ours.ts"), "--admission"],
    tables: ["churn"],
  },
];
if (hasHaproxy) {
  servers.push({
    id: "haproxy",
    name: "TcpServer --proxy behind HAProxy (CPU: both)",
    start: startBehindHaproxy,
    tables: ["pingpong"],
  });
} else {
  console.log("haproxy not found: the HAProxy ping-pong row is skipped.\n");
}
servers.push(
  {
    id: "reuseport",
    name: "TcpServer.serve, copyTo, 2 reusePort processes",
    start: () => startWorkers(2),
    tables: ["pingpong"],
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
);

/** The servers of the TLS echo tables: the same ids, over TLS. */
const tlsServers: ServerSpec[] = [
  {
    id: "ref",
    name: "C epoll + OpenSSL reference",
    command: [`${bin}/ref_echo_server`, CERT, KEY],
  },
  {
    id: "ours",
    name: "TcpServer.serve, copyTo, TLS (ours)",
    command: [...denoRun("servers/ours.ts", readCert), "--tls"],
    ours: true,
  },
  {
    id: "baseline",
    name: "Deno.listenTls loop, 64 KiB (baseline)",
    command: [...denoRun("servers/deno_plain.ts", readCert), "--tls"],
    baseline: true,
  },
  {
    id: "gather",
    name: "Deno.listenTls loop, reads gathered during writes (reference)",
    command: [
      ...denoRun("servers/deno_plain.ts", readCert),
      "--tls",
      "--gather",
    ],
    tables: ["tls-bulk"],
  },
];

if (hasNode) {
  const node = ["node", `${BENCH_DIR}servers/node_echo.mjs`];
  servers.push({
    id: "node",
    name: "node:net pipe",
    command: node,
    node: true,
  });
  tlsServers.push({
    id: "node",
    name: "node:tls pipe",
    command: [...node, "--tls"],
    node: true,
  });
} else {
  console.log("node not found: the node:net and node:tls rows are skipped.\n");
}
if (hasBun) {
  const bun = ["bun", `${BENCH_DIR}servers/bun_echo.ts`];
  servers.push({ id: "bun", name: "Bun.listen", command: bun, bun: true });
  tlsServers.push({
    id: "bun",
    name: "Bun.listen, TLS",
    command: [...bun, "--tls"],
    bun: true,
  });
} else {
  console.log("bun not found: the Bun.listen rows are skipped.\n");
}
if (candidateDir !== undefined) {
  const readModule = `--allow-read=${candidateDir}`;
  servers.push({
    id: "candidate",
    name: `TcpServer.serve (candidate: ${candidateDir})`,
    command: [...denoRun("servers/ours.ts", readModule), candidateDir],
    moduleDir: candidateDir,
  });
  tlsServers.push({
    id: "candidate",
    name: `TcpServer.serve, TLS (candidate: ${candidateDir})`,
    command: [
      ...denoRun("servers/ours.ts", `${readModule},${TESTDATA}`),
      "--tls",
      candidateDir,
    ],
    moduleDir: candidateDir,
  });
}
if (flags.servers !== undefined) {
  const wanted = flags.servers.split(",");
  for (const list of [servers, tlsServers]) {
    list.splice(0, list.length, ...list.filter((s) => wanted.includes(s.id)));
  }
}

const PINGPONG = {
  mode: "pingpong",
  args: ["--conns", "50", "--size", "64"],
  unit: "round trips/s",
  perUnit: "round trip",
  value: (r: LoadReport) => r.ops / r.seconds,
  latency: true,
} as const;
const BULK = {
  mode: "bulk",
  args: ["--conns", "4", "--size", String(64 * 1024)],
  unit: "MiB/s echoed",
  perUnit: "MiB",
  value: (r: LoadReport) => r.bytes / r.seconds / MIB,
  latency: false,
} as const;
const CHURN = {
  mode: "churn",
  // A reset instead of a FIN leaves no TIME_WAIT socket on the client side:
  // with FIN, 28k ephemeral ports run out within seconds and each connect
  // then searches TIME_WAIT buckets, so the client's kernel time, not the
  // server, would set the rate. Every server sees the same reset.
  args: ["--conns", "50", "--size", "64", "--rst", "1"],
  unit: "connections/s",
  perUnit: "connection",
  value: (r: LoadReport) => r.ops / r.seconds,
  latency: true,
} as const;

if (selected.has("pingpong")) {
  const samples = await throughputWorkload({
    ...PINGPONG,
    table: "pingpong",
    title: "Echo ping-pong: 50 connections, 64 B messages, one in flight each",
    servers,
  });
  printComparisons(samples, PINGPONG.value, [
    ["through HAProxy vs direct (copyTo)", "haproxy", "ours"],
    ["2 reusePort processes vs 1 (copyTo)", "reuseport", "ours"],
  ]);
}
if (selected.has("bulk")) {
  await throughputWorkload({
    ...BULK,
    table: "bulk",
    title: "Bulk stream: 4 connections writing 64 KiB chunks, echoed back",
    servers,
  });
}
if (selected.has("churn")) {
  const samples = await throughputWorkload({
    ...CHURN,
    table: "churn",
    title:
      "Connection churn: 50 at a time, each connect, one 64 B round trip, close",
    servers,
  });
  results.proxyChurn = ratioOfRows(samples, CHURN.value, "ours-proxy", "ours");
  results.admissionChurn = ratioOfRows(
    samples,
    CHURN.value,
    "ours-admission",
    "ours",
  );
}
if (selected.has("idle")) await idleWorkload();
if (selected.has("download")) await downloadWorkload(false);

const TLS_NOTE =
  "TLS 1.3 with tests/testdata's P-256 certificate; the load generator (OpenSSL) does not verify it";
const tlsTables = [
  {
    workload: "tls-pingpong",
    spec: PINGPONG,
    title:
      "TLS echo ping-pong: 50 connections, 64 B messages, one in flight each",
    note:
      `one full handshake per connection before the clock starts, then records; ${TLS_NOTE}`,
  },
  {
    workload: "tls-bulk",
    spec: BULK,
    title: "TLS bulk stream: 4 connections writing 64 KiB chunks, echoed back",
    note:
      `one full handshake per connection before the clock starts, then records; ${TLS_NOTE}`,
  },
  {
    workload: "tls-churn",
    spec: CHURN,
    title:
      "TLS connection churn: 50 at a time, each connect, full handshake, one 64 B round trip, close",
    note:
      `every connection a full handshake (ECDHE and a signature on the server's side): the client keeps no session, so nothing is resumed; the close is a reset without close_notify; the load generator's OpenSSL 3.0 client spends about twice a server's CPU per handshake, so the C reference's row is the ceiling and the CPU columns compare the servers; ${TLS_NOTE}`,
  },
] as const;
for (const { workload, spec, title, note } of tlsTables) {
  if (!selected.has(workload)) continue;
  if (!hasTls) {
    console.log(
      `OpenSSL's headers (Debian's libssl-dev) are missing, so the load generator has no TLS: the ${workload} table is skipped.\n`,
    );
    continue;
  }
  await throughputWorkload({
    ...spec,
    table: workload,
    title,
    servers: tlsServers,
    tls: true,
    note,
  });
}
for (const workload of ["https-download", "https-chunked"] as const) {
  if (!selected.has(workload)) continue;
  if (hasTls) {
    await downloadWorkload(
      true,
      workload === "https-chunked" ? CHUNK_SIZE : undefined,
    );
  } else {
    console.log(
      `OpenSSL's headers (Debian's libssl-dev) are missing, so the file server has no TLS: the ${workload} table is skipped.\n`,
    );
  }
}

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
  /** The command that starts it and prints its port. */
  command?: string[];
  /** Or a function that starts it (several processes, say). */
  start?: () => Promise<RunningServer>;
  ours?: boolean;
  baseline?: boolean;
  node?: boolean;
  bun?: boolean;
  /** For the candidate: the module copy it loads. */
  moduleDir?: string;
  /** The tables it has a row in; every table of its list's if absent. */
  tables?: Workload[];
  /** More load generator options for it. */
  loadgenArgs?: string[];
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

/** Ratios to the baseline of one echo table, for the Targets table. */
interface EchoRatios {
  ours?: number;
  /** Ours per server CPU second, for tables the load generator bounds. */
  oursPerCpu?: number;
  node?: number;
  bun?: number;
}

interface DownloadResults {
  vsFetch?: number;
  vsCurl?: number;
  peakMiB?: number;
  smallPeakMiB?: number;
}

interface Results {
  echo: Partial<Record<Workload, EchoRatios>>;
  /** Churn with PROXY v2 headers over churn without, per round. */
  proxyChurn?: number;
  /** Churn with the admission rules on over churn with them off, per round. */
  admissionChurn?: number;
  idleKiB?: number;
  download?: DownloadResults;
  httpsDownload?: DownloadResults;
  httpsChunked?: DownloadResults;
}

interface ThroughputOptions {
  table: Workload;
  title: string;
  mode: "pingpong" | "bulk" | "churn";
  args: readonly string[];
  unit: string;
  /** One of what `unit` counts per second, for the CPU-per-unit column. */
  perUnit: string;
  value: (r: LoadReport) => number;
  latency: boolean;
  servers: ServerSpec[];
  tls?: boolean;
  note?: string;
}

type Samples = Map<ServerSpec, LoadReport[]>;

/**
 * Runs one echo workload against every server that has a row in the table,
 * `rounds` times each with a fresh server process, rotating the order so
 * that no server always runs first or last on a noisy machine. Shows the
 * median round; returns every round's report.
 */
async function throughputWorkload(
  options: ThroughputOptions,
): Promise<Samples> {
  const servers = options.servers.filter((spec) =>
    spec.tables === undefined || spec.tables.includes(options.table)
  );
  const samples: Samples = new Map();
  for (let round = 0; round < settings.rounds; round++) {
    for (const spec of rotate(servers, round)) {
      try {
        await using server = await launch(spec);
        const report = await loadgen(options.mode, [
          ...options.args,
          ...(spec.loadgenArgs ?? []),
          ...(options.tls ? ["--tls", "1"] : []),
          "--port",
          String(server.port),
          "--server-pid",
          server.pids.join(","),
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
        fail(`${options.table} on ${spec.name}`, error);
      }
    }
  }
  const baseline = options.tls ? "Deno.listenTls" : "Deno.listen";
  const headers = [
    "Server",
    options.unit,
    `vs ${baseline}`,
    `per server CPU-s, vs ${baseline}`,
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
  const ratios: EchoRatios = {};
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
    if (spec.ours) {
      ratios.ours = vsBase;
      ratios.oursPerCpu = vsBaseCpu;
    }
    if (spec.node) ratios.node = vsBase;
    if (spec.bun) ratios.bun = vsBase;
    return row;
  });
  results.echo[options.table] = ratios;
  printTable(
    options.title,
    headers,
    rows,
    [options.note, roundsNote()].filter((n) => n !== undefined).join("; "),
  );
  return samples;
}

/**
 * The median over rounds of one row's figure divided by another's, in the
 * same table; `undefined` unless both rows have a round in common.
 */
function ratioOfRows(
  samples: Samples,
  value: (r: LoadReport) => number,
  mine: string,
  theirs: string,
): number | undefined {
  const find = (id: string) =>
    [...samples.entries()].find(([spec]) => spec.id === id)?.[1];
  return medianRatio(
    find(mine),
    find(theirs),
    (m, t) => value(t) > 0 ? value(m) / value(t) : undefined,
  );
}

/** Prints row-to-row ratios under a table, for the rows that ran. */
function printComparisons(
  samples: Samples,
  value: (r: LoadReport) => number,
  pairs: [label: string, mine: string, theirs: string][],
): void {
  const lines = pairs.flatMap(([label, mine, theirs]) => {
    const x = ratioOfRows(samples, value, mine, theirs);
    return x === undefined ? [] : [`- ${label}: ${ratio(x)}`];
  });
  if (lines.length === 0) return;
  console.log(
    `Row against row, the median of each round's ratio:\n\n${
      lines.join("\n")
    }\n`,
  );
}

/**
 * Opens many connections that each make one round trip and then wait, and
 * reads the server's resident memory (VmRSS) before and after.
 */
async function idleWorkload(): Promise<void> {
  const n = settings.idleConns;
  const idleServers = servers.filter((spec) =>
    spec.tables === undefined || spec.tables.includes("idle")
  );
  const samples = new Map<ServerSpec, number[][]>();
  for (let round = 0; round < settings.rounds; round++) {
    for (const spec of rotate(idleServers, round)) {
      try {
        await using server = await launch(spec);
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
            server.pids.join(","),
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
  const baseSpec = idleServers.find((spec) => spec.baseline);
  const baseList = baseSpec && samples.get(baseSpec);
  const rows = idleServers.map((spec) => {
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

/** How many bytes a body of `bytes` takes in chunks of `chunk` bytes. */
function chunkedSize(bytes: number, chunk: number): number {
  let total = "0\r\n\r\n".length;
  for (let left = bytes; left > 0; left -= chunk) {
    const n = Math.min(left, chunk);
    total += n.toString(16).length + 2 + n + 2;
  }
  return total;
}

/**
 * Downloads one large file from the C file server, over HTTP or HTTPS, with
 * each downloader, each in its own process, and records wall time and peak
 * memory. With `chunk`, the server sends the body in chunks of that size.
 */
async function downloadWorkload(tls: boolean, chunk?: number): Promise<void> {
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
      name: "file_server",
      command: [`${bin}/file_server`, www, ...(tls ? [CERT, KEY] : [])],
    });
    const base = `${tls ? "https" : "http"}://127.0.0.1:${server.port}`;
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
        // The test certificate as a root for fetch and Deno.connectTls
        // alike: the clients verify it, as they would any server's.
        ...(tls ? [`--cert=${CERT}`] : []),
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
        new URL(url).pathname + new URL(url).search,
        ...(tls ? ["--tls", "1"] : []),
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
    // Not in the chunked table: a candidate from before the fix of
    // _buffered_reader.ts's indexOf takes over a minute per GiB there.
    if (
      chunk === undefined && candidate !== undefined &&
      await isFile(`${candidate}/http_fetch.ts`)
    ) {
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
        command: (url, path) => [
          "curl",
          "-sS",
          ...(tls ? ["--cacert", CERT] : []),
          "-o",
          path,
          url,
        ],
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
            const m = await measureDownload(
              d,
              `${base}/${file}${chunk ? `?chunked=${chunk}` : ""}`,
              out,
              bytes,
              // The read loop counts the framing too.
              d.discards && chunk ? chunkedSize(bytes, chunk) : bytes,
            );
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
        results[chunk ? "httpsChunked" : tls ? "httpsDownload" : "download"] = {
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
      chunk
        ? `HTTPS download, chunked: ${formatBytes(size)} in ${
          chunk / 1024
        } KiB chunks over HTTP/1.1 and TLS 1.3 from a C OpenSSL server`
        : tls
        ? `HTTPS download: ${
          formatBytes(size)
        } over HTTP/1.1 and TLS 1.3 from a C OpenSSL server`
        : `Download: ${
          formatBytes(size)
        } over HTTP/1.1 from a C sendfile server`,
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
        "median of each round's ratio; before each client that writes, a " +
        "file of the download's size is written and deleted, so that each " +
        "writes into memory just freed" +
        (tls
          ? "; the clients verify tests/testdata's certificate (Deno's " +
            "--cert, curl --cacert); the server encrypts 1 MiB of the mapped " +
            "file per send(), and the C read loop decrypts and discards" +
            (chunk
              ? "; the server frames the chunks 1 MiB at a time into the " +
                "buffer it encrypts; the C read loop counts the framing"
              : "")
          : ""),
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
  wireBytes = bytes,
): Promise<Measured> {
  const path = `${outDir}/download.bin`;
  const report = `${outDir}/../measure.json`;
  await Deno.remove(path).catch(() => {});
  if (!d.discards) {
    // Hands the writer memory that was just freed, as every writer gets it.
    // On this VM (virtio-balloon free page reporting) the host takes back
    // freed pages a while after they are freed, and a write to one it took
    // back costs a trip to the host: with the clients in a fixed cyclic
    // order, the one after the C read loop wrote into such pages (up to 3.8
    // s of system time per GiB, against 0.9 s right after a deletion),
    // and the one after it into pages just freed by its predecessor.
    const primer = `${outDir}/primer.bin`;
    await writeFile(primer, bytes);
    await Deno.remove(primer);
  }
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
    if (got !== wireBytes) {
      throw new Error(`received ${got} of ${wireBytes} bytes`);
    }
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
  /** The processes whose CPU time and memory are the server's. */
  pids: number[];
  port: number;
}

/** Starts a server by its command or its own start function. */
function launch(spec: ServerSpec): Promise<RunningServer> {
  if (spec.start !== undefined) return spec.start();
  return startServer({ name: spec.name, command: spec.command! });
}

/**
 * Starts `n` processes of our echo server on one port with `reusePort`
 * (Deno needs `--unstable-net` for it): the first picks the port, the rest
 * join it, and the kernel spreads connections over them.
 */
async function startWorkers(n: number): Promise<RunningServer> {
  const started: RunningServer[] = [];
  const stop = async () => {
    for (const worker of started.reverse()) await worker[Symbol.asyncDispose]();
  };
  try {
    for (let i = 0; i < n; i++) {
      started.push(
        await startServer({
          name: `reusePort worker ${i + 1} of ${n}`,
          command: [
            ...denoRun("servers/ours.ts", "--unstable-net"),
            "--reuse-port",
            "--port",
            String(started[0]?.port ?? 0),
          ],
        }),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    pids: started.flatMap((worker) => worker.pids),
    port: started[0]!.port,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Starts our echo server with `proxyProtocol` and one HAProxy in front of it
 * (`mode tcp`, one thread, `send-proxy-v2`), from a configuration written to
 * a temporary directory. HAProxy runs in the foreground and is killed after.
 * Both processes' CPU counts as the server's.
 */
async function startBehindHaproxy(): Promise<RunningServer> {
  const backend = await startServer({
    name: "TcpServer --proxy",
    command: [...denoRun("servers/ours.ts"), "--proxy"],
  });
  const dir = await Deno.makeTempDir({ prefix: "netkit-bench-haproxy-" });
  let proxy: Deno.ChildProcess | undefined;
  const stop = async () => {
    if (proxy !== undefined) {
      kill(proxy);
      await proxy.status;
      live.delete(proxy);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await backend[Symbol.asyncDispose]();
  };
  try {
    const port = freePort();
    const config = `${dir}/haproxy.cfg`;
    await Deno.writeTextFile(
      config,
      [
        "global",
        "  nbthread 1",
        "  maxconn 4096",
        "defaults",
        "  mode tcp",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
        "listen echo",
        `  bind 127.0.0.1:${port}`,
        `  server ours 127.0.0.1:${backend.port} send-proxy-v2`,
        "",
      ].join("\n"),
    );
    proxy = new Deno.Command("/bin/sh", {
      args: [
        "-c",
        'ulimit -n "$(ulimit -Hn)" && exec haproxy -db -f "$1"',
        "sh",
        config,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    live.add(proxy);
    const stderr = new Response(proxy.stderr).text();
    const exited = proxy.status.then(async () => {
      throw new Error(`haproxy exited: ${(await stderr).trim()}`);
    });
    exited.catch(() => {});
    await Promise.race([waitForPort(port), exited]);
    return {
      pids: [...backend.pids, proxy.pid],
      port,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw new Error("Cannot start HAProxy", { cause: error });
  }
}

/** A port that was free a moment ago, for a program that cannot pick one. */
function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

/** Waits until something accepts connections on the port (10 s at most). */
async function waitForPort(port: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await sleep(0.05);
    }
  }
  throw new Error(`nothing accepts connections on port ${port} after 10 s`);
}

/**
 * Starts a server with the file limit raised to the hard limit (10,000 idle
 * connections need more than the usual soft limit of 1,024) and waits for
 * the port it prints.
 */
async function startServer(
  spec: { name: string; command: string[] },
): Promise<RunningServer> {
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
    pids: [child.pid],
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
 * hash of their sources, the compiler version and whether OpenSSL's headers
 * are there (then the TLS programs link with it), so they are built once.
 */
async function buildPrograms(): Promise<{ dir: string; tls: boolean }> {
  const cc = Deno.env.get("CC") ?? "cc";
  const version = await new Deno.Command(cc, { args: ["--version"] }).output()
    .catch(() => undefined);
  if (!version?.success) {
    throw new Error(`Cannot build the load generator: "${cc}" was not found`);
  }
  const tls = await hasOpenSslHeaders(cc);
  const sources = await Promise.all(
    C_PROGRAMS.map((name) => Deno.readFile(`${BENCH_DIR}${name}.c`)),
  );
  const hash = await sha256([
    version.stdout,
    new TextEncoder().encode(tls ? "tls" : "plain"),
    ...sources,
  ]);
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
    const withTls = tls && TLS_PROGRAMS.includes(name);
    const { success, stderr } = await new Deno.Command(cc, {
      args: [
        "-O2",
        "-Wall",
        ...(withTls ? ["-DWITH_TLS"] : []),
        "-o",
        temp,
        `${BENCH_DIR}${name}.c`,
        ...(withTls ? ["-lssl", "-lcrypto"] : []),
      ],
    }).output();
    if (!success) {
      throw new Error(
        `Cannot compile ${name}.c: ${new TextDecoder().decode(stderr)}`,
      );
    }
    await Deno.rename(temp, target);
  }
  return { dir, tls };
}

/** Whether the compiler finds OpenSSL's headers (Debian's libssl-dev). */
async function hasOpenSslHeaders(cc: string): Promise<boolean> {
  const probe = await Deno.makeTempFile({ suffix: ".c" });
  try {
    await Deno.writeTextFile(probe, "#include <openssl/ssl.h>\n");
    const { success } = await new Deno.Command(cc, {
      args: ["-E", "-o", "/dev/null", probe],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } finally {
    await Deno.remove(probe);
  }
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
  /** Our ratio, with Node's and Bun's beside it where they ran. */
  const echo = (table: Workload, perCpu = false) => (v: number) => {
    const { node, bun, oursPerCpu } = results.echo[table] ?? {};
    const others = [
      ...(perCpu && oursPerCpu !== undefined
        ? [`per server CPU-s ${ratio(oursPerCpu)}`]
        : []),
      ...(node === undefined ? [] : [`node ${ratio(node)}`]),
      ...(bun === undefined ? [] : [`bun ${ratio(bun)}`]),
    ];
    return others.length === 0
      ? ratio(v)
      : `${ratio(v)} (${others.join(", ")})`;
  };
  const e = results.echo;
  check(
    "echo ping-pong >= 1.0x",
    e.pingpong?.ours,
    echo("pingpong"),
    (v) => v >= 1.0,
  );
  check("bulk stream >= 1.3x", e.bulk?.ours, echo("bulk"), (v) => v >= 1.3);
  check(
    "connection churn >= 0.95x",
    e.churn?.ours,
    echo("churn"),
    (v) => v >= 0.95,
  );
  check(
    "churn with PROXY v2 >= 0.9x churn without",
    results.proxyChurn,
    ratio,
    (v) => v >= 0.9,
  );
  check(
    "churn with admission rules >= 0.9x churn without",
    results.admissionChurn,
    ratio,
    (v) => v >= 0.9,
  );
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
  check(
    "TLS echo ping-pong >= 0.95x Deno.listenTls",
    e["tls-pingpong"]?.ours,
    echo("tls-pingpong"),
    (v) => v >= 0.95,
  );
  check(
    "TLS bulk stream >= 1.3x Deno.listenTls",
    e["tls-bulk"]?.ours,
    echo("tls-bulk"),
    (v) => v >= 1.3,
  );
  check(
    "TLS churn >= 0.95x Deno.listenTls",
    e["tls-churn"]?.ours,
    // On two cores the load generator's handshakes bound the rate (see the
    // C reference's row): the CPU each server spends per connection tells
    // more.
    echo("tls-churn", true),
    (v) => v >= 0.95,
  );
  const h = results.httpsDownload;
  check(
    "fetchToFile over HTTPS >= 1.8x fetch+pipeTo",
    h?.vsFetch,
    ratio,
    (v) => v >= 1.8,
  );
  check(
    "fetchToFile over HTTPS >= 0.9x curl -o",
    h?.vsCurl,
    ratio,
    (v) => v >= 0.9,
  );
  check(
    "fetchToFile over HTTPS peak memory <= 64 MiB",
    h?.peakMiB,
    (v) => `${v.toFixed(1)} MiB`,
    (v) => v <= 64,
  );
  // With --only, the targets of the workloads left out are noise.
  const shown = flags.only === undefined
    ? rows
    : rows.filter((row) => row[1] !== "not measured");
  if (shown.length === 0) return;
  printTable(
    "Targets (ratios to the baselines of this run)",
    ["Target", "measured", "holds"],
    shown,
    flags.quick
      ? "quick mode: figures are too short to judge; nothing is checked"
      : "node and bun, where shown, are the same ratio for their rows: references, not targets",
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
    }; bun ${hasBun ? await version(["bun", "--version"]) : "absent"}; ${
      (await version(["curl", "--version"])).split(" ").slice(0, 2).join(" ")
    }; ${
      hasHaproxy
        ? (await version(["haproxy", "-v"])).split(" ").slice(0, 3).join(" ")
        : "haproxy absent"
    }; ${await version([
      Deno.env.get("CC") ?? "cc",
      "--version",
    ])}; ${
      hasTls
        ? (await version(["openssl", "version"])).split(" ").slice(0, 2)
          .join(" ")
        : "no OpenSSL headers (the TLS tables are skipped)"
    }`,
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
