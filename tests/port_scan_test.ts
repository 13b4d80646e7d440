// Copyright 2026 the tcp authors. MIT license.
// examples/port_scan.ts as a reader runs it, on loopback: against servers
// this test starts, against listeners that never answer, and, in network
// namespaces of its own, against what `ss -ltn` lists and against a socket
// that can only connect to itself.

import assert from "node:assert/strict";
import { TcpServer } from "../mod.ts";
import {
  assertOneErrorLine,
  closedPort,
  runExample,
  spawnExample,
} from "./_example.ts";

/**
 * A port on 127.0.0.1 that never answers: a listener with a queue of one
 * that never accepts, its queue filled, drops further connects unanswered,
 * as a firewall does. Dispose it to free the port.
 */
async function stalledPort(): Promise<{ port: number } & AsyncDisposable> {
  const listener = Deno.listen({
    hostname: "127.0.0.1",
    port: 0,
    tcpBacklog: 1,
  });
  const port = listener.addr.port;
  const held: Deno.Conn[] = [];
  try {
    for (;;) {
      assert.ok(held.length < 10, "the listen queue never filled up");
      held.push(
        await Deno.connect({
          hostname: "127.0.0.1",
          port,
          signal: AbortSignal.timeout(200),
        }),
      );
    }
  } catch (error) {
    if ((error as Error).name !== "TimeoutError") throw error;
  }
  return {
    port,
    // deno-lint-ignore require-await
    async [Symbol.asyncDispose]() {
      for (const conn of held) conn.close();
      listener.close();
    },
  };
}

/** Runs `command` in a network namespace of its own, with loopback up. */
async function inNamespace(
  command: string,
): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr, success } = await new Deno.Command("unshare", {
    args: ["-rn", "sh", "-c", `ip link set lo up && ${command}`],
    env: { NO_COLOR: "1" },
  }).output();
  const text = {
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
  assert.ok(success, `${text.stdout}\n${text.stderr}`);
  return text;
}

const SCANNER = new URL("../examples/port_scan.ts", import.meta.url).pathname;

Deno.test("port_scan.ts reports an open port and not a closed one", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(() => {});
  try {
    const open = server.addr.port;
    const closed = closedPort();
    const result = await runExample("port_scan.ts", [
      "--hostname",
      "127.0.0.1",
      "--ports",
      `${closed},${open}`,
      "--timeout",
      "2",
      "--concurrency",
      "2",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout.replace(/ in \d+\.\d s:/, " in T s:"),
      [
        "scanning 127.0.0.1, 2 ports",
        `${open}/tcp open`,
        "scanned 2 ports on 127.0.0.1 in T s: 1 open, 1 closed, 0 filtered",
        "",
      ].join("\n"),
    );
    // Not a terminal: no progress.
    assert.equal(result.stderr, "");
  } finally {
    await server.shutdown();
    await serving;
  }
});

Deno.test("port_scan.ts resolves a host name once and shows the address it scans", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(() => {});
  try {
    const open = server.addr.port;
    const result = await runExample("port_scan.ts", [
      "--hostname",
      "localhost",
      "--ports",
      `${open - 5}-${open + 5}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^scanning localhost \((127\.0\.0\.1|::1)\), 11 ports$/m,
    );
    assert.match(
      result.stdout,
      /^scanned 11 ports on localhost \((127\.0\.0\.1|::1)\) in \d+\.\d s: /m,
    );
  } finally {
    await server.shutdown();
    await serving;
  }
});

Deno.test("port_scan.ts reports a host name that does not resolve in one line and exit code 1", async () => {
  // In a namespace of its own, which has no route to a name server: the
  // lookup fails here, and no query leaves the machine.
  const { stdout } = await inNamespace(
    `"${Deno.execPath()}" run --allow-net "${SCANNER}" --hostname no-such-host.invalid 2>&1; echo "exit $?"`,
  );
  const [error, exit] = stdout.trimEnd().split("\n");
  assert.match(error!, /^error: Cannot resolve "no-such-host\.invalid": /);
  assert.equal(exit, "exit 1");
});

Deno.test("port_scan.ts retries a port that gives no answer, then lists it as filtered", async () => {
  await using stalled = await stalledPort();
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(() => {});
  try {
    const open = server.addr.port;
    const result = await runExample("port_scan.ts", [
      "--ports",
      `${stalled.port},${open},${closedPort()}`,
      "--timeout",
      "0.2",
      "--concurrency",
      "16",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout.replace(/ in \d+\.\d s:/, " in T s:"),
      [
        "scanning 127.0.0.1, 3 ports",
        `${open}/tcp open`,
        `filtered: ${stalled.port}`,
        // The retry got no answer at all, so none one at a time.
        "retried 1 ports that gave no answer within 0.2 s with 16 at a time: 0 answered 2 at a time",
        "scanned 3 ports on 127.0.0.1 in T s: 1 open, 1 closed, 1 filtered",
        "",
      ].join("\n"),
    );
  } finally {
    await server.shutdown();
    await serving;
  }
});

Deno.test("port_scan.ts stops on Ctrl-C, prints what it found so far and exits 130", async () => {
  await using stalled = await stalledPort();
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(() => {});
  try {
    const open = server.addr.port;
    await using scan = spawnExample("port_scan.ts", [
      "--ports",
      `${open},${stalled.port},${closedPort()}`,
      "--timeout",
      "60",
    ]);
    await scan.waitForLine(/^scanning 127\.0\.0\.1, 3 ports$/);
    // The open and the closed port answer at once; the stalled one waits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const result = await scan.stop("SIGINT");
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stdout, new RegExp(`^${open}/tcp open$`, "m"));
    assert.match(
      result.stdout,
      /^scanned 2 ports on 127\.0\.0\.1 in \d+\.\d s: 1 open, 1 closed, not finished$/m,
    );
    assertOneErrorLine(
      result.stderr,
      /^error: interrupted after 2 of 3 ports: the lists above are incomplete$/,
    );
  } finally {
    await server.shutdown();
    await serving;
  }
});

Deno.test("port_scan.ts rejects bad input with one line and exit code 2", async (t) => {
  const cases: [string[], RegExp][] = [
    [
      ["--ports", "10-5"],
      /^error: Invalid --ports "10-5": the range 10-5 runs backwards$/,
    ],
    [["--ports", "abc"], /^error: Invalid --ports "abc": "abc" is neither/],
    [["--ports", "0-3"], /^error: Invalid --ports "0-3": port 0 is outside/],
    [["--ports", "80,70000"], /^error: Invalid --ports "80,70000": port 70000/],
    [
      ["--ports", "80", "--timeout", "soon"],
      /^error: Invalid --timeout "soon": it must be a positive number of seconds$/,
    ],
    [
      ["--ports", "80", "--timeout", "0"],
      /^error: Invalid --timeout "0": it must be a positive number of seconds$/,
    ],
    [
      ["--ports", "80", "--concurrency", "0"],
      /^error: Invalid --concurrency "0"/,
    ],
    [
      ["--ports", "80", "--concurrency", "1001"],
      /^error: Invalid --concurrency 1001: it must be at most 1000$/,
    ],
  ];
  for (const [args, pattern] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await runExample("port_scan.ts", args);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
      assertOneErrorLine(result.stderr, pattern);
    });
  }
});

Deno.test("port_scan.ts reports no open port where a socket can only connect to itself", async () => {
  // A namespace whose only ephemeral port is 40000: the connect to
  // 127.0.0.1:40000 is a self-connection, which a scanner on Deno.connect
  // alone reports as "40000/tcp open" (see client_test.ts). Only once: the
  // closed self-connection then holds the port for a minute.
  const { stdout } = await inNamespace(
    `sysctl -qw net.ipv4.ip_local_port_range="40000 40000" && exec "${Deno.execPath()}" run --allow-net "${SCANNER}" --ports 39990-40010 --concurrency 1`,
  );
  assert.match(stdout, /^scanning 127\.0\.0\.1, 21 ports$/m);
  assert.doesNotMatch(stdout, /\/tcp open$/m);
  assert.match(
    stdout,
    /^scanned 21 ports on 127\.0\.0\.1 in \d+\.\d s: 0 open, 21 closed, 0 filtered$/m,
  );
});

/**
 * How many full scans the ss test makes: one in the suite (about 3 s of two
 * cores each); `PORT_SCAN_RUNS=3 deno test -A tests/port_scan_test.ts` for
 * more.
 */
const RUNS = Number(Deno.env.get("PORT_SCAN_RUNS") ?? 1);

Deno.test("port_scan.ts --ports 1-65535 at its highest concurrency finds what ss -ltn lists", async () => {
  // A namespace of its own: its loopback has only the sockets the script
  // opens, so nothing else on the machine is scanned or comes and goes.
  const { stdout } = await inNamespace(
    `exec "${Deno.execPath()}" run --allow-all "${
      new URL("./_scan_vs_ss.ts", import.meta.url).pathname
    }" ${RUNS}`,
  );
  const [ours, ...runs] = stdout.trim().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.equal(runs.length, RUNS);
  for (const run of runs) {
    const where = `run ${run.run}:\n${run.stdout}${run.stderr}`;
    assert.equal(run.code, 0, where);
    // ss lists every socket the script opened that takes 127.0.0.1, and
    // nothing else.
    assert.deepEqual(
      run.expected,
      [...ours.accepting].sort((a: number, b: number) => a - b),
      where,
    );
    for (const port of ours.elsewhere) {
      assert.ok(!run.expected.includes(port), where);
    }
    assert.deepEqual(run.found, run.expected, where);
    assert.deepEqual(run.after, run.expected, where);
    assert.match(
      run.stdout,
      /^scanned 65535 ports on 127\.0\.0\.1 in \d+\.\d s: \d+ open, \d+ closed, 0 filtered$/m,
      where,
    );
    assert.equal(run.stderr, "", where);
  }
});

Deno.test("port_scan.ts shows its progress on a terminal, and only there", async () => {
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(() => {});
  try {
    // script(1) runs the scanner on a pseudo-terminal and copies what it
    // shows, stdout and stderr alike.
    const { stdout, success } = await new Deno.Command("script", {
      args: [
        "-qec",
        `"${Deno.execPath()}" run --allow-net "${SCANNER}" --ports ${server.addr.port},${closedPort()}`,
        "/dev/null",
      ],
      env: { NO_COLOR: "1" },
    }).output();
    const shown = new TextDecoder().decode(stdout);
    assert.ok(success, shown);
    // Redrawn in place, then erased before the results.
    assert.ok(shown.includes("\rscanning: 2/2, 1 open\x1b[K"), shown);
    assert.match(shown, new RegExp("\r\x1b\\[K\\d+/tcp open\r?\n"));
  } finally {
    await server.shutdown();
    await serving;
  }
});
