// Copyright 2026 the tcp authors. MIT license.
/**
 * Checks `proxy_protocol.ts` against peers someone else wrote, live, on
 * loopback: HAProxy and nginx send PROXY headers to capture backends, which
 * must decode to the connections the script made and re-encode byte for
 * byte; then headers from `encodeProxyHeader()` go to an HAProxy
 * `accept-proxy` frontend, which must log the addresses they carry and relay
 * them onwards with `send-proxy-v2`.
 *
 *   apt-get install -y haproxy nginx-light libnginx-mod-stream
 *   deno run --allow-all .ci/proxy_interop.ts [--save DIR]
 *
 * `--save DIR` keeps every captured connection's bytes there, named as in
 * `tests/testdata/proxy/`, whose files were captured the same way. Exits
 * non-zero if any check fails. Not part of `deno task test`: the unit tests
 * need neither program.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import {
  decodeProxyHeader,
  encodeProxyHeader,
  type ProxyHeader,
} from "../proxy_protocol.ts";

const args = parseArgs({ options: { save: { type: "string" } } });
const ROOT = new URL("..", import.meta.url).pathname;
const CERT = `${ROOT}tests/testdata/cert.pem`;
const KEY = `${ROOT}tests/testdata/key.pem`;
const HELLO = new TextEncoder().encode("hello\n");
const WAIT = 5000;

function tcp(hostname: string, port: number): Deno.NetAddr {
  return { transport: "tcp", hostname, port };
}

function localPort(conn: Deno.Conn): number {
  return (conn.localAddr as Deno.NetAddr).port;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out waiting for ${what}`)),
      WAIT,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port nothing listens on right now, for the proxies' frontends. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A backend that keeps what each connection sent, in order of arrival. */
class Capture {
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #waiting: ((bytes: Uint8Array) => void)[] = [];
  #ready: Uint8Array[] = [];
  #loop: Promise<void>;
  readonly port: number = this.#listener.addr.port;

  constructor() {
    this.#loop = this.#accept().catch((error) => {
      failures++;
      console.log(`FAIL capture on port ${this.port}: ${error}`);
    });
  }

  async #accept(): Promise<void> {
    const reads: Promise<void>[] = [];
    try {
      for (;;) {
        let conn;
        try {
          conn = await this.#listener.accept();
        } catch (error) {
          if (error instanceof Deno.errors.BadResource) break;
          // A health check that reset before we accepted it: not the end.
          if (error instanceof Deno.errors.NotConnected) continue;
          throw error;
        }
        reads.push(this.#read(conn));
      }
    } finally {
      await Promise.all(reads);
    }
  }

  /** Reads until `hello\n`, the end, or a second of silence. */
  async #read(conn: Deno.TcpConn): Promise<void> {
    const chunks: number[] = [];
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const read = conn.read(buffer);
        const n = await Promise.race([
          read,
          delay(1000).then(() => "idle" as const),
        ]);
        if (n === "idle") {
          conn.close();
          await read.catch(() => {});
          break;
        }
        if (n === null) break;
        chunks.push(...buffer.subarray(0, n));
        if (String.fromCharCode(...chunks.slice(-6)) === "hello\n") break;
      }
    } catch {
      // A reset ends the connection like a close.
    }
    try {
      conn.close();
    } catch {
      // Closed above already.
    }
    const bytes = Uint8Array.from(chunks);
    const waiter = this.#waiting.shift();
    if (waiter) waiter(bytes);
    else this.#ready.push(bytes);
  }

  /** The bytes of the next connection, once it has ended. */
  next(): Promise<Uint8Array> {
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#loop;
  }
}

/** A program in the foreground whose stdout lines we can wait for. */
class Program {
  #child: Deno.ChildProcess;
  #lines: string[] = [];
  #done: Promise<unknown>;
  constructor(command: string, args: string[]) {
    this.#child = new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([
      this.#collect(this.#child.stdout),
      this.#collect(this.#child.stderr),
    ]);
  }
  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      this.#lines.push(...text.split("\n").filter((line) => line !== ""));
    }
  }
  /** The first line not seen before that matches, waiting for it if need be. */
  async line(pattern: RegExp, seen: Set<string>): Promise<string> {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const line = this.#lines.find((l) => pattern.test(l) && !seen.has(l));
      if (line !== undefined) {
        seen.add(line);
        return line;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `No line matching ${pattern}:\n${this.#lines.join("\n")}`,
        );
      }
      await delay(50);
    }
  }
  get output(): string {
    return this.#lines.join("\n");
  }
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // It has exited already.
    }
    await this.#child.status;
    await this.#done;
  }
}

let failures = 0;
async function check(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures++;
    console.log(
      `FAIL ${name}\n${error instanceof Error ? error.message : error}`,
    );
  }
}

/** Decodes a capture, compares it with what was expected, and re-encodes it. */
async function decodesAs(
  name: string,
  bytes: Uint8Array,
  expected: (header: ProxyHeader) => void,
  payload = "hello\n",
): Promise<void> {
  if (args.values.save) {
    await Deno.writeFile(`${args.values.save}/${name}.bin`, bytes);
  }
  const result = decodeProxyHeader(bytes);
  assert.ok(result.done, `${name}: a whole header`);
  expected(result.header);
  assert.equal(
    new TextDecoder().decode(bytes.subarray(result.length)),
    payload,
  );
  assert.deepEqual(
    encodeProxyHeader(result.header),
    bytes.subarray(0, result.length),
    "re-encoded byte for byte",
  );
}

async function send(
  connect: () => Promise<Deno.Conn>,
  data: Uint8Array = HELLO,
): Promise<Deno.Conn> {
  const conn = await connect();
  await conn.write(data);
  return conn;
}

const dir = await Deno.makeTempDir({ prefix: "proxy_interop_" });
if (args.values.save) await Deno.mkdir(args.values.save, { recursive: true });
const captures = new Map<string, Capture>();
const capture = (name: string) => {
  const c = new Capture();
  captures.set(name, c);
  return c;
};
const programs: Program[] = [];

try {
  await Deno.writeTextFile(
    `${dir}/combo.pem`,
    (await Deno.readTextFile(CERT)) + (await Deno.readTextFile(KEY)),
  );
  const fe = {
    v1_tcp4: freePort(),
    v1_tcp6: freePort(),
    v1_mapped: freePort(),
    v2_tcp4: freePort(),
    v2_tcp6: freePort(),
    v2_tls: freePort(),
    v2_options: freePort(),
    accept: freePort(),
    nginx4: freePort(),
    nginx6: freePort(),
  };
  const be = Object.fromEntries(
    [
      "v1_tcp4",
      "v1_tcp6",
      "v1_mapped",
      "v1_unix",
      "v1_check",
      "v2_tcp4",
      "v2_tcp6",
      "v2_unix",
      "v2_check",
      "v2_tls",
      "v2_options",
      "relay",
      "nginx4",
      "nginx6",
    ].map((name) => [name, capture(name).port]),
  );
  const pair = (name: string, bind: string, server: string, extra = "") =>
    `frontend ${name}\n    bind ${bind}\n${extra}    default_backend ${name}\n` +
    `backend ${name}\n    server s 127.0.0.1:${be[name]} ${server}\n`;
  const uniqueId = "    unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt\n";
  await Deno.writeTextFile(
    `${dir}/haproxy.cfg`,
    [
      "global\n    log stdout format raw local0\n",
      "defaults\n    mode tcp\n    log global\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n",
      pair("v1_tcp4", `127.0.0.1:${fe.v1_tcp4}`, "send-proxy"),
      pair("v1_tcp6", `[::1]:${fe.v1_tcp6}`, "send-proxy"),
      pair("v1_mapped", `[::]:${fe.v1_mapped} v4v6`, "send-proxy"),
      pair("v1_unix", `unix@${dir}/v1.sock`, "send-proxy"),
      pair("v2_tcp4", `127.0.0.1:${fe.v2_tcp4}`, "send-proxy-v2"),
      pair("v2_tcp6", `[::1]:${fe.v2_tcp6}`, "send-proxy-v2"),
      pair("v2_unix", `unix@${dir}/v2.sock`, "send-proxy-v2"),
      pair(
        "v2_tls",
        `127.0.0.1:${fe.v2_tls} ssl crt ${dir}/combo.pem ca-file ${CERT} verify optional alpn h2,http/1.1`,
        "send-proxy-v2-ssl-cn proxy-v2-options ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id",
        uniqueId,
      ),
      pair(
        "v2_options",
        `127.0.0.1:${fe.v2_options}`,
        "send-proxy-v2 proxy-v2-options crc32c,unique-id,authority,ssl",
        uniqueId,
      ),
      // A plain check resets its connection at once, often before Deno's
      // accept() can read the peer's address; one that waits for a reply
      // stays until the capture's idle timeout.
      `backend v2_check\n    option tcp-check\n    tcp-check expect string pong\n    timeout check 3s\n` +
      `    server s 127.0.0.1:${be.v2_check} send-proxy-v2 check check-send-proxy inter 1s\n`,
      `backend v1_check\n    option tcp-check\n    tcp-check expect string pong\n    timeout check 3s\n` +
      `    server s 127.0.0.1:${be.v1_check} send-proxy check check-send-proxy inter 1s\n`,
      `frontend accept\n    bind 127.0.0.1:${fe.accept} accept-proxy\n` +
      `    log-format "accepted client=%ci:%cp frontend=%fi:%fp authority=%[fc_pp_authority] unique_id=%[fc_pp_unique_id]"\n` +
      `    default_backend relay\n` +
      `backend relay\n    server s 127.0.0.1:${be.relay} send-proxy-v2 proxy-v2-options authority\n`,
    ].join("\n"),
  );
  await Deno.mkdir(`${dir}/nginx`);
  await Deno.writeTextFile(
    `${dir}/nginx/nginx.conf`,
    `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
pid ${dir}/nginx/nginx.pid;
error_log ${dir}/nginx/error.log info;
events { worker_connections 64; }
stream {
  server { listen 127.0.0.1:${fe.nginx4}; proxy_pass 127.0.0.1:${be.nginx4}; proxy_protocol on; }
  server { listen [::1]:${fe.nginx6}; proxy_pass 127.0.0.1:${be.nginx6}; proxy_protocol on; }
}
`,
  );
  const haproxy = new Program("haproxy", ["-db", "-f", `${dir}/haproxy.cfg`]);
  programs.push(haproxy);
  const nginx = new Program("nginx", [
    "-p",
    `${dir}/nginx`,
    "-c",
    `${dir}/nginx/nginx.conf`,
    "-e",
    `${dir}/nginx/error.log`,
  ]);
  programs.push(nginx);
  await delay(1000);

  // ---------------------------------------------------------- they send, we decode
  const v4 = (name: string, port: number, version: 1 | 2) =>
    check(`${name}: HAProxy's header decodes to our connection`, async () => {
      const conn = await send(() =>
        Deno.connect({ hostname: "127.0.0.1", port })
      );
      const bytes = await within(captures.get(name)!.next(), name);
      conn.close();
      await decodesAs(
        `haproxy_${name}`,
        bytes,
        (header) =>
          assert.deepEqual(header, {
            version,
            command: "PROXY",
            source: tcp("127.0.0.1", localPort(conn)),
            destination: tcp("127.0.0.1", port),
            ...(version === 2 ? { tlvs: {} } : {}),
          }),
      );
    });
  await v4("v1_tcp4", fe.v1_tcp4, 1);
  await v4("v2_tcp4", fe.v2_tcp4, 2);
  for (
    const [name, port, version] of [["v1_tcp6", fe.v1_tcp6, 1], [
      "v2_tcp6",
      fe.v2_tcp6,
      2,
    ]] as const
  ) {
    await check(
      `${name}: HAProxy's header decodes to our connection`,
      async () => {
        const conn = await send(() => Deno.connect({ hostname: "::1", port }));
        const bytes = await within(captures.get(name)!.next(), name);
        conn.close();
        await decodesAs(
          `haproxy_${name}`,
          bytes,
          (header) =>
            assert.deepEqual(header, {
              version,
              command: "PROXY",
              source: tcp("::1", localPort(conn)),
              destination: tcp("::1", port),
              ...(version === 2 ? { tlvs: {} } : {}),
            }),
        );
      },
    );
  }
  await check(
    "v1_mapped: an IPv4 client of a dual-stack frontend comes as ::ffff:127.0.0.1",
    async () => {
      const conn = await send(() =>
        Deno.connect({ hostname: "127.0.0.1", port: fe.v1_mapped })
      );
      const bytes = await within(
        captures.get("v1_mapped")!.next(),
        "v1_mapped",
      );
      conn.close();
      await decodesAs(
        "haproxy_v1_tcp6_mapped",
        bytes,
        (header) =>
          assert.deepEqual(header, {
            version: 1,
            command: "PROXY",
            source: tcp("::ffff:127.0.0.1", localPort(conn)),
            destination: tcp("::ffff:127.0.0.1", fe.v1_mapped),
          }),
      );
    },
  );
  for (
    const [name, file, expected] of [
      ["v1_unix", "haproxy_v1_unknown", { version: 1, command: "PROXY" }],
      ["v2_unix", "haproxy_v2_unix_client", {
        version: 2,
        command: "LOCAL",
        tlvs: {},
      }],
    ] as const
  ) {
    await check(
      `${name}: a UNIX socket client comes as ${
        name === "v1_unix" ? "UNKNOWN" : "LOCAL"
      }`,
      async () => {
        const conn = await send(() =>
          Deno.connect({
            transport: "unix",
            path: `${dir}/${name.slice(0, 2)}.sock`,
          })
        );
        const bytes = await within(captures.get(name)!.next(), name);
        conn.close();
        await decodesAs(
          file,
          bytes,
          (header) => assert.deepEqual(header, expected),
        );
      },
    );
  }
  await check("v2_check: HAProxy's health check is LOCAL", async () => {
    const bytes = await within(captures.get("v2_check")!.next(), "v2_check");
    await decodesAs(
      "haproxy_v2_check",
      bytes,
      (header) =>
        assert.deepEqual(header, { version: 2, command: "LOCAL", tlvs: {} }),
      "",
    );
  });
  await check(
    "v1_check: HAProxy's v1 health check carries its own addresses",
    async () => {
      const bytes = await within(captures.get("v1_check")!.next(), "v1_check");
      await decodesAs("haproxy_v1_check", bytes, (header) => {
        assert.equal(header.version, 1);
        assert.deepEqual(header.destination, tcp("127.0.0.1", be.v1_check));
      }, "");
    },
  );
  await check(
    "v2_options: CRC32C, UNIQUE_ID and an SSL TLV without TLS",
    async () => {
      const conn = await send(() =>
        Deno.connect({ hostname: "127.0.0.1", port: fe.v2_options })
      );
      const bytes = await within(
        captures.get("v2_options")!.next(),
        "v2_options",
      );
      conn.close();
      await decodesAs("haproxy_v2_options", bytes, (header) => {
        assert.deepEqual(header.source, tcp("127.0.0.1", localPort(conn)));
        assert.equal(header.tlvs?.crc32c, true);
        assert.ok((header.tlvs?.uniqueId?.length ?? 0) > 0);
        assert.deepEqual(header.tlvs?.ssl, { client: 0, verify: 0 });
      });
    },
  );
  await check(
    "v2_tls: TLS terminated by HAProxy, with SNI, ALPN and a client certificate",
    async () => {
      const conn = await Deno.connectTls({
        hostname: "localhost",
        port: fe.v2_tls,
        caCerts: [await Deno.readTextFile(CERT)],
        alpnProtocols: ["h2"],
        cert: await Deno.readTextFile(CERT),
        key: await Deno.readTextFile(KEY),
      });
      await conn.write(HELLO);
      const bytes = await within(captures.get("v2_tls")!.next(), "v2_tls");
      conn.close();
      await decodesAs("haproxy_v2_tls", bytes, (header) => {
        const { ssl, ...tlvs } = header.tlvs ?? {};
        assert.deepEqual({ ...tlvs, uniqueId: undefined }, {
          crc32c: true,
          alpn: "h2",
          authority: "localhost",
          uniqueId: undefined,
        });
        assert.equal(ssl?.client, 0x07);
        assert.equal(ssl?.verify, 0);
        assert.match(ssl?.version ?? "", /^TLSv1\.[23]$/);
        assert.equal(ssl?.cn, "localhost");
        assert.match(ssl?.cipher ?? "", /^TLS_|-/);
        assert.ok(ssl?.sigAlg && ssl?.keyAlg);
      });
    },
  );
  for (
    const [name, hostname, port] of [["nginx4", "127.0.0.1", fe.nginx4], [
      "nginx6",
      "::1",
      fe.nginx6,
    ]] as const
  ) {
    await check(
      `${name}: nginx's header decodes to our connection`,
      async () => {
        const conn = await send(() => Deno.connect({ hostname, port }));
        const bytes = await within(captures.get(name)!.next(), name);
        conn.close();
        await decodesAs(
          `nginx_v1_tcp${name.slice(-1)}`,
          bytes,
          (header) =>
            assert.deepEqual(header, {
              version: 1,
              command: "PROXY",
              source: tcp(hostname, localPort(conn)),
              destination: tcp(hostname, port),
            }),
        );
      },
    );
  }

  // ---------------------------------------------------------- we send, HAProxy accepts
  const seen = new Set<string>();
  const ours: [string, ProxyHeader, string | undefined][] = [
    ["v1 TCP4", {
      version: 1,
      command: "PROXY",
      source: tcp("203.0.113.7", 51234),
      destination: tcp("192.0.2.1", 443),
    }, undefined],
    ["v1 TCP6", {
      version: 1,
      command: "PROXY",
      source: tcp("2001:db8::7", 40000),
      destination: tcp("2001:db8::1", 25),
    }, undefined],
    ["v1 mixed families", {
      version: 1,
      command: "PROXY",
      source: tcp("203.0.113.9", 1),
      destination: tcp("2001:db8::1", 65535),
    }, undefined],
    ["v2 TCP4 with every TLV", {
      version: 2,
      command: "PROXY",
      source: tcp("198.51.100.20", 61000),
      destination: tcp("192.0.2.2", 8443),
      tlvs: {
        crc32c: true,
        alpn: "http/1.1",
        authority: "ours.example",
        uniqueId: new TextEncoder().encode("conn-42"),
        ssl: {
          client: 1,
          verify: 0,
          version: "TLSv1.3",
          cipher: "TLS_AES_128_GCM_SHA256",
        },
        netns: "blue",
        others: [{ type: 0xe0, value: Uint8Array.of(1, 2, 3) }, {
          type: 0x04,
          value: new Uint8Array(5),
        }],
      },
    }, "ours.example"],
    ["v2 TCP6", {
      version: 2,
      command: "PROXY",
      source: tcp("2001:db8:1::99", 2222),
      destination: tcp("2001:db8::1", 443),
      tlvs: { authority: "v6.example" },
    }, "v6.example"],
  ];
  for (const [name, header, authority] of ours) {
    await check(
      `HAProxy accepts our ${name} header and reports its addresses`,
      async () => {
        const bytes = encodeProxyHeader(header);
        const conn = await send(
          () => Deno.connect({ hostname: "127.0.0.1", port: fe.accept }),
          new Uint8Array([...bytes, ...HELLO]),
        );
        const relayed = await within(captures.get("relay")!.next(), "relay");
        conn.close();
        const from = header.source as Deno.NetAddr;
        const to = header.destination as Deno.NetAddr;
        // HAProxy writes an IPv4 address mapped when the other is IPv6.
        const mixed = from.hostname.includes(":") !== to.hostname.includes(":");
        const client = mixed ? tcp(`::ffff:${from.hostname}`, from.port) : from;
        const line = await haproxy.line(/^accepted /, seen);
        const host = (a: Deno.NetAddr) => `${a.hostname}:${a.port}`;
        assert.equal(
          line,
          `accepted client=${host(client)} frontend=${host(to)} authority=${
            authority ?? "-"
          } unique_id=${
            header.tlvs?.uniqueId
              ? new TextDecoder().decode(header.tlvs.uniqueId)
              : "-"
          }`,
        );
        const result = decodeProxyHeader(relayed);
        assert.ok(result.done);
        assert.deepEqual(result.header.source, client);
        assert.deepEqual(result.header.destination, to);
      },
    );
  }
  for (
    const [name, header] of [["v1 UNKNOWN", { version: 1, command: "PROXY" }], [
      "v2 LOCAL",
      { version: 2, command: "LOCAL" },
    ]] as const
  ) {
    await check(
      `HAProxy accepts our ${name} header and uses the socket's addresses`,
      async () => {
        const conn = await send(
          () => Deno.connect({ hostname: "127.0.0.1", port: fe.accept }),
          new Uint8Array([...encodeProxyHeader(header), ...HELLO]),
        );
        await within(captures.get("relay")!.next(), "relay");
        conn.close();
        const line = await haproxy.line(/^accepted /, seen);
        assert.equal(
          line,
          `accepted client=127.0.0.1:${
            localPort(conn)
          } frontend=127.0.0.1:${fe.accept} authority=- unique_id=-`,
        );
      },
    );
  }
  const refused: [string, Uint8Array][] = [];
  const crc = encodeProxyHeader({
    version: 2,
    command: "PROXY",
    source: tcp("198.51.100.77", 7),
    destination: tcp("192.0.2.2", 8),
    tlvs: { crc32c: true, authority: "crc.example" },
  });
  crc[crc.length - 1] ^= 1;
  refused.push(["a v2 header whose CRC32C is wrong", crc]);
  // The specification allows these; HAProxy reads its TLVs from byte 0 then.
  refused.push([
    "a v2 PROXY header of family UNSPEC (an HAProxy limitation)",
    encodeProxyHeader({ version: 2, command: "PROXY" }),
  ]);
  refused.push([
    "a v2 PROXY header of family UNIX (an HAProxy limitation)",
    encodeProxyHeader({
      version: 2,
      command: "PROXY",
      source: { transport: "unix", path: "/a" },
      destination: { transport: "unix", path: "/b" },
    }),
  ]);
  for (const [name, bytes] of refused) {
    await check(`HAProxy refuses ${name}`, async () => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: fe.accept,
      });
      await conn.write(bytes).catch(() => {});
      await haproxy.line(/invalid PROXY protocol header/, seen);
      conn.close();
    });
  }
} finally {
  for (const program of programs) await program.stop();
  for (const c of captures.values()) await c.close();
  await Deno.remove(dir, { recursive: true });
}

console.log(failures === 0 ? "all checks passed" : `${failures} checks failed`);
Deno.exit(failures === 0 ? 0 : 1);
