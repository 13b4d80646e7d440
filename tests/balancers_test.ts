// Copyright 2026 the tcp authors. MIT license.
// TcpServer behind the real thing: HAProxy (send-proxy-v2, health and agent
// checks, redispatch) and nginx's stream module (proxy_protocol on, to TCP
// backends and to one on a Unix socket) in front of backend processes
// (tests/_balancer_backend.ts), with clients bound to other loopback
// addresses (tests/_bound_client.py: Deno.connect cannot bind one). The
// configurations are those of docs/deploy.md, with test ports and paths.
//
// .ci/run installs haproxy and nginx's stream module; without them the test
// is ignored and says why.

import assert from "node:assert/strict";
import { TcpClient } from "../mod.ts";
import {
  closedPort,
  type ExampleProcess,
  findProgram,
  spawnExample,
  until,
} from "./_example.ts";

const BACKEND = new URL("./_balancer_backend.ts", import.meta.url).pathname;
const BOUND_CLIENT = new URL("./_bound_client.py", import.meta.url).pathname;
/** HAProxy checks (and asks the agents) this often, in milliseconds. */
const CHECK_INTERVAL = 200;

interface Tools {
  haproxy: string;
  nginx: string;
  /** `load_module` for the stream module, or "" when nginx has it built in. */
  loadStream: string;
}

/** The balancers, or why the test cannot run. */
async function findTools(): Promise<Tools | string> {
  const haproxy = findProgram("haproxy");
  const nginx = findProgram("nginx");
  const missing = [
    ...(haproxy ? [] : ["haproxy"]),
    ...(nginx ? [] : ["nginx"]),
  ];
  if (missing.length > 0) {
    return `${
      missing.join(" and ")
    } not found (apt-get install haproxy libnginx-mod-stream)`;
  }
  // `nginx -V` lists how it was built: the stream module is built in, or a
  // module to load (Debian's libnginx-mod-stream), or absent.
  const { stderr } = await new Deno.Command(nginx!, { args: ["-V"] }).output();
  const built = new TextDecoder().decode(stderr);
  if (/--with-stream(\s|$)/.test(built)) {
    return { haproxy: haproxy!, nginx: nginx!, loadStream: "" };
  }
  if (!/--with-stream=dynamic/.test(built)) {
    return "nginx was built without its stream module";
  }
  const dir = /--modules-path=(\S+)/.exec(built)?.[1] ??
    `${/--prefix=(\S+)/.exec(built)?.[1] ?? "/usr/share/nginx"}/modules`;
  const module = `${dir}/ngx_stream_module.so`;
  try {
    Deno.statSync(module);
  } catch {
    return `nginx's stream module is not installed: no ${module} (apt-get install libnginx-mod-stream)`;
  }
  return {
    haproxy: haproxy!,
    nginx: nginx!,
    loadStream: `load_module ${module};`,
  };
}

const tools = await findTools();
if (typeof tools === "string") {
  console.log(`balancers_test.ts is ignored: ${tools}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A backend's answer. */
interface Answer {
  server: string;
  pid: number;
  remote: string;
  local: string;
  socketRemote: string;
  header: string | null;
  said: string;
}

/** A backend process: its name, port, agent port, and the process. */
class Backend {
  readonly name: string;
  process!: ExampleProcess;
  port = 0;
  agentPort = 0;
  path: string | undefined;

  constructor(name: string, path?: string) {
    this.name = name;
    this.path = path;
  }

  /** Starts it (again, on the same ports), and waits until it listens. */
  async start(): Promise<void> {
    const args = ["--name", this.name];
    if (this.path !== undefined) {
      args.push("--path", this.path);
    } else {
      args.push(
        "--port",
        String(this.port),
        "--agent-port",
        String(this.agentPort),
      );
    }
    // A Unix socket is a file: listening on it needs to read and write it.
    const files = this.path === undefined
      ? []
      : [`--allow-read=${this.path}`, `--allow-write=${this.path}`];
    this.process = spawnExample(this.name, args, {
      command: [Deno.execPath(), "run", "--allow-net", ...files, BACKEND],
    });
    const listening = await this.process.waitForLine(/^listening on /, 15_000);
    if (this.path !== undefined) return;
    this.port = Number(listening.split(":").pop());
    const agent = await this.process.waitForLine(/^agent on /, 15_000);
    this.agentPort = Number(agent.split(":").pop());
  }

  /** SIGTERMs it and returns what it said when it stopped. */
  async stop(): Promise<{ drained: number; cut: number }> {
    const result = await this.process.stop("SIGTERM");
    assert.equal(result.code, 0, `${this.name}: ${result.stderr}`);
    assert.equal(result.stderr, "", `${this.name} reported errors`);
    const match =
      /^stopped: (\d+) drained, (\d+) cut, 0 abandoned; \d+ served, \d+ without a request$/m
        .exec(result.stdout);
    assert.ok(match, result.stdout);
    return { drained: Number(match[1]), cut: Number(match[2]) };
  }
}

/** Runs tests/_bound_client.py: one connection per message, from `source`. */
async function boundClient(
  source: string,
  port: number,
  messages: string[],
): Promise<{ client: string; answer: Answer }[]> {
  await using client = spawnExample("_bound_client.py", [
    source,
    "127.0.0.1",
    String(port),
    ...messages,
  ], { command: ["python3", BOUND_CLIENT] });
  const result = await client.finish({ timeout: 20_000 });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trimEnd().split("\n").map((line) => {
    const { client, reply } = JSON.parse(line);
    assert.ok(reply, `no answer for ${client}`);
    return { client, answer: JSON.parse(reply) };
  });
}

/** Asks HAProxy's runtime API for `show stat`: one record per line. */
async function haproxyStats(
  socket: string,
): Promise<Record<string, string>[]> {
  await using conn = await TcpClient.connect({ path: socket });
  await conn.write("show stat\n");
  let text = "";
  for (
    let chunk;
    (chunk = await conn.read(65536, { timeout: 5000 })) !== null;
  ) {
    text += new TextDecoder().decode(chunk, { stream: true });
  }
  const [head, ...rows] = text.trim().split("\n");
  const names = head!.replace(/^# /, "").split(",");
  return rows.map((row) => {
    // A check that is running as we ask is marked "* ": what it said last
    // time is the rest.
    const values = row.split(",").map((value) => value.replace(/^\* /, ""));
    return Object.fromEntries(names.map((name, i) => [name, values[i]!]));
  });
}

function haproxyConfig(
  dir: string,
  port: number,
  backends: Backend[],
): string {
  const servers = backends.map((b) =>
    `    server ${b.name} 127.0.0.1:${b.port} agent-port ${b.agentPort}`
  ).join("\n");
  return `global
    stats socket ${dir}/haproxy.sock level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A connection refused (a backend restarting) is tried again, on
    # another server.
    retries 3
    option redispatch 1

frontend app
    bind 127.0.0.1:${port}
    default_backend app

backend app
    balance roundrobin
    default-server send-proxy-v2 check inter ${CHECK_INTERVAL}ms fall 1 rise 2 agent-check agent-inter ${CHECK_INTERVAL}ms
${servers}
`;
}

function nginxConfig(
  dir: string,
  loadStream: string,
  ports: { tcp: number; unix: number },
  backends: Backend[],
  unixBackend: Backend,
): string {
  const servers = backends.map((b) => `        server 127.0.0.1:${b.port};`)
    .join("\n");
  return `${loadStream}
daemon off;
# One process, as the user who started it: a worker that changed user
# could not open the test's socket.
master_process off;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }

stream {
    upstream app {
${servers}
    }
    server {
        listen 127.0.0.1:${ports.tcp};
        proxy_pass app;
        proxy_protocol on;
    }
    server {
        listen 127.0.0.1:${ports.unix};
        proxy_pass unix:${unixBackend.path};
        proxy_protocol on;
    }
}
`;
}

Deno.test({
  name:
    "TcpServer behind HAProxy and nginx sees each client's own address and restarts without a failed connection",
  ignore: typeof tools === "string",
  async fn(t) {
    const { haproxy, nginx, loadStream } = tools as Tools;
    const dir = await Deno.makeTempDir({ prefix: "balancers_test_" });
    const a = new Backend("a");
    const b = new Backend("b");
    const u = new Backend("u", `${dir}/u.sock`);
    const backends = [a, b];
    let haproxyProcess: ExampleProcess | undefined;
    let nginxProcess: ExampleProcess | undefined;
    try {
      await Promise.all([a.start(), b.start(), u.start()]);
      const ports = {
        haproxy: closedPort(),
        nginx: closedPort(),
        nginxUnix: closedPort(),
      };
      await Deno.writeTextFile(
        `${dir}/haproxy.cfg`,
        haproxyConfig(dir, ports.haproxy, backends),
      );
      await Deno.writeTextFile(
        `${dir}/nginx.conf`,
        nginxConfig(
          dir,
          loadStream,
          { tcp: ports.nginx, unix: ports.nginxUnix },
          backends,
          u,
        ),
      );
      haproxyProcess = spawnExample("haproxy", [], {
        command: [haproxy, "-db", "-f", `${dir}/haproxy.cfg`],
      });
      nginxProcess = spawnExample("nginx", [], {
        command: [nginx, "-p", dir, "-c", `${dir}/nginx.conf`, "-e", "stderr"],
      });
      const stats = () => haproxyStats(`${dir}/haproxy.sock`);
      // HAProxy answers on its socket once it listens; both servers are up
      // once a check of each has passed.
      await until(async () => {
        const rows = await stats().catch(() => []);
        const up = rows.filter((row) =>
          row.pxname === "app" && row.status === "UP" &&
          row.check_status === "L4OK"
        );
        return up.length === 2 ? true : undefined;
      }, "HAProxy to check both servers");
      // nginx writes its pid file once it listens.
      await until(
        () => Deno.stat(`${dir}/nginx.pid`).then(() => true, () => undefined),
        "nginx to start",
      );

      for (
        const [balancer, port] of [
          ["HAProxy", ports.haproxy],
          ["nginx", ports.nginx],
        ] as const
      ) {
        await t.step(
          `clients on 127.0.0.2 and 127.0.0.3 are seen as themselves through ${balancer}`,
          async () => {
            for (const source of ["127.0.0.2", "127.0.0.3"]) {
              const seen = new Set<string>();
              const results = await boundClient(source, port, [
                "one",
                "two",
                "three",
                "four",
              ]);
              for (const { client, answer } of results) {
                assert.ok(client.startsWith(`${source}:`), client);
                assert.equal(answer.remote, client);
                assert.equal(answer.local, `127.0.0.1:${port}`);
                assert.match(answer.socketRemote, /^127\.0\.0\.1:\d+$/);
                assert.equal(answer.header, "PROXY");
                seen.add(answer.server);
              }
              // Round robin: both backends served.
              assert.deepEqual([...seen].sort(), ["a", "b"]);
            }
          },
        );
      }

      await t.step(
        "nginx reaches a backend on a Unix socket with the client's address",
        async () => {
          const [{ client, answer }] = await boundClient(
            "127.0.0.2",
            ports.nginxUnix,
            ["hello"],
          );
          assert.equal(answer.server, "u");
          assert.equal(answer.remote, client);
          assert.equal(answer.local, `127.0.0.1:${ports.nginxUnix}`);
          assert.equal(answer.header, "PROXY");
        },
      );

      await t.step(
        "a forged header from an untrusted address is only data",
        async () => {
          const forged = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222";
          const [{ client, answer }] = await boundClient("127.0.0.2", a.port, [
            `${forged}\r\nhello`,
          ]);
          assert.equal(answer.remote, client);
          assert.equal(answer.header, null);
          assert.equal(answer.said, forged);
        },
      );

      await t.step(
        "health checks pass and are not reported as errors",
        async () => {
          // Every few hundred milliseconds since the start, and a while more.
          await delay(4 * CHECK_INTERVAL);
          const rows = (await stats()).filter((row) =>
            row.pxname === "app" && (row.svname === "a" || row.svname === "b")
          );
          assert.equal(rows.length, 2);
          for (const row of rows) {
            assert.equal(row.status, "UP", row.svname);
            assert.equal(row.check_status, "L4OK", row.svname);
            assert.equal(row.chkfail, "0", row.svname);
            assert.equal(row.agent_status, "L7OK", row.svname);
          }
          for (const backend of [a, b, u]) {
            assert.equal(backend.process.stderr, "", backend.name);
          }
        },
      );

      await t.step(
        "a rolling restart through HAProxy fails no connection and cuts no exchange",
        async () => {
          const failures: string[] = [];
          const pids = new Map<number, number>();
          let stopping = false;
          let exchanges = 0;
          // Clients that keep connecting: quick exchanges, and slow ones that
          // a shutdown finds running.
          const load = async (id: number, wait: number) => {
            for (let i = 0; !stopping; i++) {
              const request = `wait ${wait} ${id}-${i}`;
              try {
                await using client = await TcpClient.connect({
                  hostname: "127.0.0.1",
                  port: ports.haproxy,
                  timeout: 10_000,
                });
                await client.write(`${request}\n`);
                const line = await client.readLine({ timeout: 15_000 });
                if (line === null) {
                  failures.push(`${request}: closed without an answer`);
                  continue;
                }
                const answer: Answer = JSON.parse(line);
                assert.equal(answer.said, request);
                pids.set(answer.pid, (pids.get(answer.pid) ?? 0) + 1);
                exchanges++;
              } catch (error) {
                failures.push(`${request}: ${error}`);
              }
            }
          };
          // ~1,000 exchanges a second: without the drain before the stop, a
          // restart loses one now and then (4 runs in 5 lost one here).
          const loads = [0, 0, 0, 0, 300, 300].map((wait, id) =>
            load(id, wait)
          );
          try {
            for (const backend of backends) {
              const old = backend.process;
              await until(
                () => exchanges > 20 ? true : undefined,
                "the clients to get going",
              );
              // An exchange with this backend itself, running as it stops.
              await using direct = await TcpClient.connect({
                port: backend.port,
                proxyHeader: {
                  version: 2,
                  command: "PROXY",
                  source: {
                    transport: "tcp",
                    hostname: "192.0.2.7",
                    port: 4242,
                  },
                  destination: {
                    transport: "tcp",
                    hostname: "127.0.0.1",
                    port: ports.haproxy,
                  },
                },
              });
              await direct.write("wait 800 direct\n");
              await delay(100);
              const before = exchanges;
              const { drained, cut } = await backend.stop();
              assert.equal(cut, 0, `${backend.name} cut exchanges`);
              assert.ok(drained >= 1, `${backend.name} drained ${drained}`);
              const answer: Answer = JSON.parse(
                (await direct.readLine({ timeout: 5000 }))!,
              );
              assert.equal(answer.said, "wait 800 direct");
              assert.equal(answer.remote, "192.0.2.7:4242");
              // The other backend serves meanwhile.
              await until(
                () => exchanges > before + 10 ? true : undefined,
                `exchanges while ${backend.name} is down`,
              );
              await old[Symbol.asyncDispose]();
              await backend.start();
              const pid = backend.process.pid;
              await until(
                () => pids.has(pid) ? true : undefined,
                `the new ${backend.name} to take traffic`,
              );
            }
          } finally {
            stopping = true;
            await Promise.all(loads);
          }
          assert.deepEqual(failures, []);
        },
      );

      // Stopped while HAProxy still listens to their agents: they are
      // drained at once.
      await Promise.all(backends.map((backend) => backend.stop()));
      const unix = await u.process.stop("SIGTERM");
      assert.equal(unix.code, 0);
      assert.equal(unix.stderr, "");
    } finally {
      for (const backend of [a, b, u]) {
        await backend.process?.[Symbol.asyncDispose]();
      }
      await haproxyProcess?.[Symbol.asyncDispose]();
      await nginxProcess?.[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
