// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { LimitExceededError } from "../mod.ts";
import {
  fetchToFile,
  type FetchToFileOptions,
  type FetchToFileResult,
  HttpError,
  RedirectError,
} from "../http_fetch.ts";
import {
  CuttingProxy,
  endless,
  type HostileHandler,
  HostileServer,
  type HostileServerOptions,
  reply,
  stall,
} from "./_hostile_server.ts";

const testdata = new URL("./testdata/", import.meta.url);
const cert = await Deno.readTextFile(new URL("cert.pem", testdata));
const key = await Deno.readTextFile(new URL("key.pem", testdata));

type ErrorClass = abstract new (...args: never[]) => Error;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "http_fetch_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listing(dir: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** How a test reaches the hostile server: over TCP, or TLS. */
interface Transport {
  /** The name of the test step. */
  name: string;
  /** `"http:"` or `"https:"`. */
  scheme: string;
  /** The host of the server's URLs: one the certificate is for, with TLS. */
  host: string;
  /** Starts a hostile server playing `handler` over this transport. */
  start(handler: HostileHandler): HostileServer;
  /** fetchToFile `options`, plus what it needs to trust the server. */
  options(options?: FetchToFileOptions): FetchToFileOptions;
}

function transport(name: string, server: HostileServerOptions): Transport {
  const tls = server.cert !== undefined;
  return {
    name,
    scheme: tls ? "https:" : "http:",
    host: tls ? "localhost" : "127.0.0.1",
    start: (handler) => HostileServer.start(handler, server),
    options: (options = {}) => tls ? { caCerts: [cert], ...options } : options,
  };
}

const HTTP = transport("http", {});
/** TLS for the certificate of `localhost`; servers send close_notify. */
const HTTPS = transport("https", { cert, key });
/** TLS whose connections end with a bare TCP close, as some servers do. */
const HTTPS_NO_CLOSE_NOTIFY = transport(
  "https, closed without close_notify",
  { cert, key, closeNotify: false },
);
/** Both schemes. */
const SCHEMES = [HTTP, HTTPS];
/** Both schemes, and TLS ended without close_notify: for tests of the end. */
const ENDINGS = [HTTP, HTTPS, HTTPS_NO_CLOSE_NOTIFY];

/**
 * Defines a test that runs `fn` once per transport, each in a step of its
 * own: the same assertions over `http:` and `https:`.
 */
function testOver(
  transports: Transport[],
  name: string,
  fn: (transport: Transport, t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test(name, async (t) => {
    for (const transport of transports) {
      await t.step(transport.name, (t) => fn(transport, t));
    }
  });
}

/** Downloads from a server playing `handler`; returns the result and file. */
async function succeeds(
  transport: Transport,
  handler: HostileHandler,
  options: FetchToFileOptions = {},
): Promise<{ result: FetchToFileResult; body: Uint8Array }> {
  await using server = transport.start(handler);
  let outcome: { result: FetchToFileResult; body: Uint8Array } | undefined;
  await withDir(async (dir) => {
    const result = await fetchToFile(
      server.url(),
      `${dir}/out`,
      transport.options(options),
    );
    assert.deepEqual(await listing(dir), ["out"]);
    outcome = { result, body: await Deno.readFile(`${dir}/out`) };
  });
  return outcome!;
}

/**
 * Downloads from a server playing `handler`, expects the failure, and checks
 * that the directory is empty afterwards: no target, no temporary file.
 */
async function fails(
  transport: Transport,
  handler: HostileHandler,
  errorClass: ErrorClass,
  message: RegExp,
  options: FetchToFileOptions = {},
): Promise<Error> {
  await using server = transport.start(handler);
  let caught: Error | undefined;
  await withDir(async (dir) => {
    caught = await fetchToFile(
      server.url(),
      `${dir}/out`,
      transport.options(options),
    ).then(
      () => assert.fail("the download succeeded"),
      (error) => error,
    );
    assert.ok(
      caught instanceof errorClass,
      `expected ${errorClass.name}, got ${caught}`,
    );
    assert.match(caught.message, message);
    assert.ok(
      caught.message.startsWith(`Cannot download "`),
      caught.message,
    );
    assert.deepEqual(await listing(dir), []);
  });
  return caught!;
}

const text = (body: Uint8Array) => new TextDecoder().decode(body);

testOver(
  SCHEMES,
  "fetchToFile() sends a well-formed GET with the expected fields",
  async (transport) => {
    await using server = transport.start(
      reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    );
    await withDir(async (dir) => {
      await fetchToFile(
        server.url("/a%20b/c.txt?q=1#frag"),
        `${dir}/c.txt`,
        transport.options({ headers: { "X-Token": "secret" } }),
      );
    });
    const [request] = server.requests;
    assert.equal(request!.method, "GET");
    assert.equal(request!.target, "/a%20b/c.txt?q=1");
    assert.equal(request!.version, "HTTP/1.1");
    assert.equal(
      request!.headers.get("host"),
      `${transport.host}:${server.port}`,
    );
    assert.equal(
      request!.headers.get("user-agent"),
      `netkit-tcp/${config.version}`,
    );
    assert.equal(request!.headers.get("accept"), "*/*");
    assert.equal(request!.headers.get("accept-encoding"), "identity");
    assert.equal(request!.headers.get("connection"), "close");
    assert.equal(request!.headers.get("x-token"), "secret");
  },
);

Deno.test("fetchToFile() rejects CR, LF and NUL in header names and values", async (t) => {
  for (
    const headers of [
      { "X-A": "b\r\nEvil: 1" },
      { "X-A": "b\nc" },
      { "X-A": "b\0" },
      [["X-A\r\nEvil", "1"]],
    ]
  ) {
    await t.step(JSON.stringify(headers), async () => {
      await withDir(async (dir) => {
        await assert.rejects(
          fetchToFile("http://127.0.0.1:9/x", `${dir}/x`, { headers }),
          (error: Error) =>
            error instanceof TypeError &&
            /contains CR, LF or NUL/.test(error.message),
        );
        assert.deepEqual(await listing(dir), []);
      });
    });
  }
});

Deno.test("fetchToFile() refuses URLs that are not http: or https:", async () => {
  await assert.rejects(
    fetchToFile("ftp://127.0.0.1/x", "x"),
    TypeError,
  );
});

testOver(
  SCHEMES,
  "fetchToFile() names the URL when connecting fails",
  async (transport) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr;
    listener.close();
    const url = `${transport.scheme}//${transport.host}:${port}/x`;
    await withDir(async (dir) => {
      await assert.rejects(
        fetchToFile(url, `${dir}/x`, transport.options()),
        (error: Error) =>
          error instanceof Deno.errors.ConnectionRefused &&
          error.message.startsWith(`Cannot download "${url}"`),
      );
      assert.deepEqual(await listing(dir), []);
    });
  },
);

testOver(
  ENDINGS,
  "fetchToFile() fails on a body shorter than Content-Length",
  async (transport) => {
    await fails(
      transport,
      reply("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "x".repeat(50)),
      Deno.errors.UnexpectedEof,
      /body ended after 50 of 100 bytes$/,
    );
  },
);

testOver(
  ENDINGS,
  "fetchToFile() ignores bytes after a complete body",
  async (transport) => {
    const { body } = await succeeds(
      transport,
      reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES"),
    );
    assert.equal(text(body), "hello");
  },
);

testOver(
  SCHEMES,
  "fetchToFile() accepts repeated identical Content-Length values",
  async (transport) => {
    const { body } = await succeeds(
      transport,
      reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello",
      ),
    );
    assert.equal(text(body), "hello");
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses two different Content-Length values",
  async (transport) => {
    await fails(
      transport,
      reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      ),
      Deno.errors.InvalidData,
      /conflicting "Content-Length" values 5 and 6/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses malformed Content-Length values",
  async (transport, t) => {
    for (const value of ["+5", "1 0", "0x5", "-1", "1".repeat(25), "5;", ""]) {
      await t.step(JSON.stringify(value), async () => {
        await fails(
          transport,
          reply(`HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\nhello`),
          Deno.errors.InvalidData,
          /malformed "Content-Length"/,
        );
      });
    }
  },
);

testOver(
  ENDINGS,
  "fetchToFile() decodes a chunked body and drops extensions and trailers",
  async (transport) => {
    const { body } = await succeeds(
      transport,
      reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5;name=value\r\nhello\r\n",
        "006\r\n world\r\n",
        "0\r\nX-Trailer: yes\r\n\r\n",
      ),
    );
    assert.equal(text(body), "hello world");
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses a chunk size line that is not hexadecimal",
  async (transport) => {
    await fails(
      transport,
      reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello"),
      Deno.errors.InvalidData,
      /malformed chunk size line "zz"/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses chunk lines that RFC 9112 section 7.1.1 does not allow",
  async (transport, t) => {
    const cases: [string, RegExp][] = [
      ["5 ", /whitespace without an extension/],
      ["5;", /a chunk extension has no name/],
      ["5;a=b c", /expected ";" or the end, found "c"/],
      ['5;a="b', /a quoted chunk extension value is not closed/],
      ["5;a=", /neither a token nor a quoted string/],
    ];
    for (const [line, message] of cases) {
      await t.step(JSON.stringify(line), async () => {
        await fails(
          transport,
          reply(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            `${line}\r\nhello\r\n0\r\n\r\n`,
          ),
          Deno.errors.InvalidData,
          message,
        );
      });
    }
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses an absurd chunk size",
  async (transport) => {
    await fails(
      transport,
      reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
      ),
      Deno.errors.InvalidData,
      /chunk size "f+" is too large/,
    );
  },
);

testOver(
  ENDINGS,
  "fetchToFile() fails on a chunked body without the final chunk",
  async (transport) => {
    await fails(
      transport,
      reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      ),
      Deno.errors.UnexpectedEof,
      /chunked body ended after 5 bytes, before the final chunk/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() fails on chunk data not followed by CRLF",
  async (transport) => {
    await fails(
      transport,
      reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n",
      ),
      Deno.errors.InvalidData,
      /chunk data is not followed by CRLF after 5 bytes/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() bounds an endless chunk extension",
  async (transport) => {
    await fails(
      transport,
      async (conn) => {
        await conn.write(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=",
        );
        await endless(conn, "a".repeat(1024));
      },
      LimitExceededError,
      /a chunk size line is longer than 4096 bytes/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() lets chunked take precedence over Content-Length",
  async (transport) => {
    const { body } = await succeeds(
      transport,
      reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
      ),
    );
    assert.equal(text(body), "hello");
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses transfer codings other than chunked",
  async (transport, t) => {
    for (
      const coding of ["gzip", "gzip, chunked", "chunked, chunked", "x-custom"]
    ) {
      await t.step(coding, async () => {
        await fails(
          transport,
          reply(
            `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${coding}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
          ),
          Deno.errors.InvalidData,
          /unsupported transfer coding/,
        );
      });
    }
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses Transfer-Encoding in an HTTP/1.0 response",
  async (transport) => {
    await fails(
      transport,
      reply(
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      ),
      Deno.errors.InvalidData,
      /an HTTP\/1\.0 response has "Transfer-Encoding"/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() bounds an endless header section",
  async (transport, t) => {
    await t.step("by field count", async () => {
      await fails(
        transport,
        async (conn) => {
          await conn.write("HTTP/1.1 200 OK\r\n");
          await endless(conn, "X-More: yes\r\n");
        },
        LimitExceededError,
        /the response header section has more than 100 fields/,
      );
    });
    await t.step("by size", async () => {
      await fails(
        transport,
        async (conn) => {
          await conn.write("HTTP/1.1 200 OK\r\n");
          await endless(conn, `X-Filler: ${"f".repeat(2000)}\r\n`);
        },
        LimitExceededError,
        /the response header section is larger than 65536 bytes/,
      );
    });
  },
);

testOver(
  SCHEMES,
  "fetchToFile() bounds a single huge header line",
  async (transport) => {
    await fails(
      transport,
      async (conn) => {
        await conn.write("HTTP/1.1 200 OK\r\nX-Huge: ");
        await endless(conn, "h".repeat(4096));
      },
      LimitExceededError,
      /the response header section is larger than 65536 bytes/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses malformed heads",
  async (transport, t) => {
    const cases: [string, RegExp][] = [
      ["garbage\r\n\r\n", /malformed status line "garbage"/],
      ["HTTP/2.0 200 OK\r\n\r\n", /malformed status line "HTTP\/2\.0 200 OK"/],
      ["HTTP/1.1 20 OK\r\n\r\n", /malformed status line/],
      ["HTTP/1.1 999 Odd\r\n\r\n", /malformed status line/],
      ["HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", /malformed field line/],
      ["HTTP/1.1 200 OK\r\nX-A : x\r\n\r\n", /malformed field line/],
      ["HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", /control character 0x0d/],
      ["HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", /control character 0x00/],
      ["HTTP/1.1 200 OK\r\n folded\r\n\r\n", /starts with whitespace/],
    ];
    for (const [head, message] of cases) {
      await t.step(JSON.stringify(head), async () => {
        await fails(transport, reply(head), Deno.errors.InvalidData, message);
      });
    }
  },
);

testOver(
  SCHEMES,
  "fetchToFile() reads an HTTP/1.2 response as HTTP/1.1",
  async (transport) => {
    const { result, body } = await succeeds(
      transport,
      reply("HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    );
    assert.equal(result.version, "HTTP/1.1");
    assert.equal(text(body), "ok");
  },
);

testOver(
  ENDINGS,
  "fetchToFile() fails when the server closes without a response",
  async (transport) => {
    await fails(
      transport,
      () => {},
      Deno.errors.UnexpectedEof,
      /the server closed the connection without a response/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() skips a few interim responses",
  async (transport) => {
    const { result, body } = await succeeds(
      transport,
      reply(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      ),
    );
    assert.equal(result.status, 200);
    assert.equal(text(body), "ok");
  },
);

testOver(
  SCHEMES,
  "fetchToFile() bounds a flood of 100 Continue",
  async (transport) => {
    await fails(
      transport,
      (conn) => endless(conn, "HTTP/1.1 100 Continue\r\n\r\n"),
      LimitExceededError,
      /more than 10 interim \(1xx\) responses/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() ignores the body of a 204",
  async (transport) => {
    const { result, body } = await succeeds(
      transport,
      reply("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"),
    );
    assert.equal(result.status, 204);
    assert.equal(result.bytesWritten, 0);
    assert.equal(body.length, 0);
  },
);

testOver(
  ENDINGS,
  "fetchToFile() reads a body without length to the close, over TLS to a close_notify",
  async (transport) => {
    const handler = reply("HTTP/1.0 200 OK\r\n\r\n", "part one, ", "part two");
    if (transport === HTTPS_NO_CLOSE_NOTIFY) {
      // Without the alert the close could be anyone's, such as an attacker's.
      await fails(
        transport,
        handler,
        Deno.errors.UnexpectedEof,
        /the TLS connection ended without close_notify after 18 bytes, so the body may be truncated$/,
      );
      return;
    }
    const { result, body } = await succeeds(transport, handler);
    assert.equal(result.version, "HTTP/1.0");
    assert.equal(text(body), "part one, part two");
  },
);

testOver(
  SCHEMES,
  "fetchToFile() reports a connection cut mid-body as truncated, without length only over TLS",
  async (transport, t) => {
    const cases: [string, string, RegExp | undefined][] = [
      [
        "with Content-Length",
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome of the body",
        /body ended after 16 of 100 bytes$/,
      ],
      [
        "chunked, in a chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nsome of the body\r\n8\r\nand the",
        /chunked body ended after 23 bytes, in a chunk of 8$/,
      ],
      [
        "without length",
        "HTTP/1.1 200 OK\r\n\r\nsome of the body",
        // Over TCP a cut is the end of such a body: it cannot be told apart.
        transport === HTTPS
          ? /the TLS connection ended without close_notify after 16 bytes, so the body may be truncated$/
          : undefined,
      ],
    ];
    for (const [name, response, message] of cases) {
      await t.step(name, async () => {
        await using server = transport.start(async (conn) => {
          await conn.write(response);
          await stall(conn);
        });
        // The proxy cuts the connection as a middlebox would: abruptly,
        // with the server still there.
        await using proxy = new CuttingProxy(server.port);
        await withDir(async (dir) => {
          const url = `${transport.scheme}//${transport.host}:${proxy.port}/x`;
          const downloading = fetchToFile(
            url,
            `${dir}/x`,
            transport.options({
              onProgress: ({ received }) => {
                if (received >= 16) proxy.cut();
              },
            }),
          );
          if (message === undefined) {
            assert.equal((await downloading).bytesWritten, 16);
            assert.deepEqual(await listing(dir), ["x"]);
            return;
          }
          const error = await downloading.catch((e) => e);
          assert.ok(error instanceof Deno.errors.UnexpectedEof, String(error));
          assert.match(error.message, message);
          assert.ok(error.message.startsWith(`Cannot download "${url}": `));
          assert.deepEqual(await listing(dir), []);
        });
      });
    }
  },
);

testOver(
  SCHEMES,
  "fetchToFile() stops a body that never ends at maxBytes",
  async (transport) => {
    await fails(
      transport,
      async (conn) => {
        await conn.write("HTTP/1.1 200 OK\r\n\r\n");
        await endless(conn, new Uint8Array(64 * 1024));
      },
      LimitExceededError,
      /the file is larger than maxBytes \(1000000\)/,
      { maxBytes: 1_000_000 },
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses an announced length above maxBytes at once",
  async (transport) => {
    await fails(
      transport,
      async (conn) => {
        await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n");
        await stall(conn);
      },
      LimitExceededError,
      /the file is 2000000 bytes, more than maxBytes \(1000\)/,
      { maxBytes: 1000 },
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() fails when the server stalls mid-body",
  async (transport) => {
    const started = Date.now();
    await fails(
      transport,
      async (conn) => {
        await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
        await stall(conn);
      },
      Deno.errors.TimedOut,
      /the server sent nothing for 200 ms/,
      { idleTimeout: 200 },
    );
    assert.ok(Date.now() - started < 2000);
  },
);

testOver(
  SCHEMES,
  "fetchToFile() fails when the server never answers",
  async (transport) => {
    await fails(
      transport,
      stall,
      Deno.errors.TimedOut,
      /the server sent nothing for 200 ms/,
      { idleTimeout: 200 },
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() follows redirects and resolves a relative Location",
  async (transport) => {
    await using server = transport.start(async (conn, request) => {
      if (request.target === "/docs/start") {
        await conn.write(
          "HTTP/1.1 301 Moved\r\nLocation: ../files/final.txt?v=2\r\nContent-Length: 0\r\n\r\n",
        );
      } else if (request.target === "/files/final.txt?v=2") {
        await conn.write(
          "HTTP/1.1 307 Temporary\r\nLocation: /end\r\n\r\nignored body",
        );
      } else {
        await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
      }
    });
    await withDir(async (dir) => {
      const result = await fetchToFile(
        server.url("/docs/start"),
        `${dir}/f`,
        transport.options(),
      );
      assert.equal(result.url, server.url("/end"));
      assert.equal(await Deno.readTextFile(`${dir}/f`), "done");
      assert.deepEqual(server.requests.map((r) => r.target), [
        "/docs/start",
        "/files/final.txt?v=2",
        "/end",
      ]);
    });
  },
);

testOver(SCHEMES, "fetchToFile() stops a redirect loop", async (transport) => {
  await fails(
    transport,
    reply("HTTP/1.1 302 Found\r\nLocation: /file.bin\r\n\r\n"),
    Error,
    /too many redirects \(the limit is 10\)/,
  );
});

testOver(
  SCHEMES,
  "fetchToFile() stops a redirect chain longer than maxRedirects",
  async (transport) => {
    let hops = 0;
    const error = await fails(
      transport,
      async (conn, request) => {
        hops++;
        const n = Number(request.target.split("/").at(-1)) || 0;
        await conn.write(
          `HTTP/1.1 308 Permanent\r\nLocation: /chain/${n + 1}\r\n\r\n`,
        );
      },
      Error,
      /too many redirects \(the limit is 3\), the next to ".*\/chain\/4"/,
      { maxRedirects: 3 },
    );
    assert.equal(hops, 4);
    assert.ok(!(error instanceof HttpError));
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses a redirect to file:",
  async (transport) => {
    await fails(
      transport,
      reply("HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n\r\n"),
      Error,
      /refusing to follow a redirect to "file:\/\/\/etc\/passwd"/,
    );
  },
);

testOver(
  SCHEMES,
  "fetchToFile() drops credentials and caller headers on a redirect to another origin",
  async (transport) => {
    await using other = transport.start(
      reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthere"),
    );
    await using server = transport.start(
      reply(`HTTP/1.1 302 Found\r\nLocation: ${other.url("/moved")}\r\n\r\n`),
    );
    await withDir(async (dir) => {
      await fetchToFile(
        server.url(),
        `${dir}/f`,
        transport.options({
          headers: {
            Authorization: "Bearer secret",
            Cookie: "session=1",
            "X-Custom": "mine",
          },
        }),
      );
      assert.equal(await Deno.readTextFile(`${dir}/f`), "there");
    });
    const first = server.requests[0]!.headers;
    assert.equal(first.get("authorization"), "Bearer secret");
    assert.equal(first.get("cookie"), "session=1");
    const second = other.requests[0]!.headers;
    assert.equal(second.get("authorization"), null);
    assert.equal(second.get("cookie"), null);
    assert.equal(second.get("x-custom"), null);
    assert.equal(second.get("host"), `${transport.host}:${other.port}`);
  },
);

testOver(
  SCHEMES,
  "fetchToFile() rejects a 404 with an HttpError and saves nothing",
  async (transport) => {
    const error = await fails(
      transport,
      reply("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n"),
      HttpError,
      /the server answered 404 Not Found$/,
    );
    assert.equal((error as HttpError).status, 404);
    assert.equal((error as HttpError).statusText, "Not Found");
  },
);

testOver(
  SCHEMES,
  "fetchToFile() leaves an existing file untouched on failure",
  async (transport) => {
    await using server = transport.start(
      reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
    );
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/out`, "precious");
      await assert.rejects(
        fetchToFile(server.url(), `${dir}/out`, transport.options()),
        Deno.errors.UnexpectedEof,
      );
      assert.equal(await Deno.readTextFile(`${dir}/out`), "precious");
      assert.deepEqual(await listing(dir), ["out"]);
    });
  },
);

testOver(
  SCHEMES,
  "fetchToFile() replaces an existing file only when allowed",
  async (transport) => {
    await using server = transport.start(
      reply("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew"),
    );
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/out`, "old");
      await assert.rejects(
        fetchToFile(
          server.url(),
          `${dir}/out`,
          transport.options({ overwrite: false }),
        ),
        (error: Error) =>
          error instanceof Deno.errors.AlreadyExists &&
          /cannot save ".*": the file already exists/.test(error.message),
      );
      assert.equal(await Deno.readTextFile(`${dir}/out`), "old");
      assert.deepEqual(await listing(dir), ["out"]);
      await fetchToFile(server.url(), `${dir}/out`, transport.options());
      assert.equal(await Deno.readTextFile(`${dir}/out`), "new");
    });
  },
);

testOver(
  SCHEMES,
  "fetchToFile() leaves nothing behind when aborted mid-download",
  async (transport) => {
    const { promise: halfway, resolve } = Promise.withResolvers<void>();
    await using server = transport.start(async (conn) => {
      await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n");
      await conn.write(new Uint8Array(2_000_000));
      resolve();
      await stall(conn);
    });
    await withDir(async (dir) => {
      const controller = new AbortController();
      const { promise: receiving, resolve: onProgress } = Promise
        .withResolvers<void>();
      const downloading = fetchToFile(
        server.url(),
        `${dir}/big`,
        transport.options({
          signal: controller.signal,
          onProgress: () => onProgress(),
        }),
      );
      await Promise.all([halfway, receiving]);
      controller.abort();
      const error = await downloading.catch((e) => e);
      assert.equal(error, controller.signal.reason);
      assert.equal((error as Error).name, "AbortError");
      assert.deepEqual(await listing(dir), []);
    });
  },
);

function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = 2463534242;
  for (let i = 0; i < size; i++) {
    // xorshift: no repeating period that could hide a misplaced chunk.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

let multiMiB: Uint8Array | undefined;

testOver(
  ENDINGS,
  "fetchToFile() saves a multi-MiB body byte for byte",
  async (transport, t) => {
    const data = multiMiB ??= pattern(6 * 1024 * 1024 + 123);
    await t.step("with Content-Length", async () => {
      const { result, body } = await succeeds(
        transport,
        reply(
          `HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`,
          data,
        ),
      );
      assert.equal(result.bytesWritten, data.length);
      assert.ok(
        body.length === data.length && body.every((b, i) => b === data[i]),
      );
    });
    await t.step("chunked, in uneven chunks", async () => {
      const { body } = await succeeds(transport, async (conn) => {
        await conn.write(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for (let at = 0, size = 1; at < data.length; size = size * 3 + 7) {
          const chunk = data.subarray(at, at + size);
          await conn.write(`${chunk.length.toString(16)}\r\n`);
          await conn.write(chunk);
          await conn.write("\r\n");
          at += chunk.length;
        }
        await conn.write("0\r\n\r\n");
      });
      assert.ok(
        body.length === data.length && body.every((b, i) => b === data[i]),
      );
    });
  },
);

/** A resource with an ETag that honours `Range` with `If-Range`. */
function rangeServer(
  data: Uint8Array,
  etag: string,
  options: { cutAt?: number; ignoreRanges?: boolean; contentRange?: string } =
    {},
): HostileHandler {
  return async (conn, request) => {
    const range = /^bytes=(\d+)-$/.exec(request.headers.get("range") ?? "");
    const matches = request.headers.get("if-range") === etag;
    if (range && matches && !options.ignoreRanges) {
      const from = Number(range[1]);
      await conn.write(
        `HTTP/1.1 206 Partial Content\r\nETag: ${etag}\r\nContent-Range: ${
          options.contentRange ??
            `bytes ${from}-${data.length - 1}/${data.length}`
        }\r\nContent-Length: ${data.length - from}\r\n\r\n`,
      );
      await conn.write(data.subarray(from));
      return;
    }
    await conn.write(
      `HTTP/1.1 200 OK\r\nETag: ${etag}\r\nContent-Length: ${data.length}\r\n\r\n`,
    );
    await conn.write(data.subarray(0, options.cutAt ?? data.length));
  };
}

/** Leaves a partial download of `data` (cut at 1000 bytes) in `dir`. */
async function leavePartial(
  transport: Transport,
  dir: string,
  data: Uint8Array,
  url: string,
) {
  await assert.rejects(
    fetchToFile(url, `${dir}/out`, transport.options({ resume: true })),
    /body ended after 1000 of/,
  );
  assert.deepEqual(await listing(dir), ["out.part", "out.part.json"]);
  assert.deepEqual(
    await Deno.readFile(`${dir}/out.part`),
    data.subarray(0, 1000),
  );
}

testOver(
  ENDINGS,
  "fetchToFile() resumes from a server that honours ranges",
  async (transport) => {
    const data = pattern(5000);
    let cut = true;
    const handler = rangeServer(data, '"v1"', { cutAt: 1000 });
    const honest = rangeServer(data, '"v1"');
    await using server = transport.start((conn, request) =>
      (cut ? handler : honest)(conn, request)
    );
    await withDir(async (dir) => {
      await leavePartial(transport, dir, data, server.url());
      cut = false;
      const result = await fetchToFile(
        server.url(),
        `${dir}/out`,
        transport.options({ resume: true }),
      );
      assert.equal(result.status, 206);
      assert.equal(result.resumedFrom, 1000);
      assert.equal(result.bytesWritten, 4000);
      assert.deepEqual(await Deno.readFile(`${dir}/out`), data);
      assert.deepEqual(await listing(dir), ["out"]);
      const last = server.requests.at(-1)!.headers;
      assert.equal(last.get("range"), "bytes=1000-");
      assert.equal(last.get("if-range"), '"v1"');
    });
  },
);

testOver(
  SCHEMES,
  "fetchToFile() restarts when the server ignores the range",
  async (transport) => {
    const data = pattern(5000);
    let cut = true;
    await using server = transport.start((conn, request) =>
      rangeServer(data, '"v1"', {
        cutAt: cut ? 1000 : undefined,
        ignoreRanges: true,
      })(
        conn,
        request,
      )
    );
    await withDir(async (dir) => {
      await leavePartial(transport, dir, data, server.url());
      cut = false;
      const result = await fetchToFile(
        server.url(),
        `${dir}/out`,
        transport.options({ resume: true }),
      );
      assert.equal(result.status, 200);
      assert.equal(result.resumedFrom, 0);
      assert.equal(server.requests.at(-1)!.headers.get("range"), "bytes=1000-");
      assert.deepEqual(await Deno.readFile(`${dir}/out`), data);
      assert.deepEqual(await listing(dir), ["out"]);
    });
  },
);

testOver(
  SCHEMES,
  "fetchToFile() restarts when the resource has changed",
  async (transport) => {
    const before = pattern(5000);
    const after = new TextEncoder().encode("a new version");
    let changed = false;
    await using server = transport.start((conn, request) =>
      changed
        ? rangeServer(after, '"v2"')(conn, request)
        : rangeServer(before, '"v1"', { cutAt: 1000 })(conn, request)
    );
    await withDir(async (dir) => {
      await leavePartial(transport, dir, before, server.url());
      changed = true;
      const result = await fetchToFile(
        server.url(),
        `${dir}/out`,
        transport.options({ resume: true }),
      );
      assert.equal(result.status, 200);
      assert.equal(server.requests.at(-1)!.headers.get("if-range"), '"v1"');
      assert.equal(await Deno.readTextFile(`${dir}/out`), "a new version");
      assert.deepEqual(await listing(dir), ["out"]);
    });
  },
);

testOver(
  SCHEMES,
  "fetchToFile() refuses a wrong Content-Range and keeps the partial file",
  async (transport) => {
    const data = pattern(5000);
    let cut = true;
    await using server = transport.start((conn, request) =>
      rangeServer(data, '"v1"', {
        cutAt: cut ? 1000 : undefined,
        contentRange: "bytes 0-3999/5000",
      })(conn, request)
    );
    await withDir(async (dir) => {
      await leavePartial(transport, dir, data, server.url());
      cut = false;
      await assert.rejects(
        fetchToFile(
          server.url(),
          `${dir}/out`,
          transport.options({ resume: true }),
        ),
        (error: Error) =>
          error instanceof Deno.errors.InvalidData &&
          /wrong "Content-Range" "bytes 0-3999\/5000": asked for the bytes from 1000/
            .test(error.message),
      );
      assert.deepEqual(await listing(dir), ["out.part", "out.part.json"]);
    });
  },
);

Deno.test("fetchToFile() downloads over HTTPS only from a server whose certificate it trusts", async (t) => {
  const otherCert = await Deno.readTextFile(
    new URL("other_cert.pem", testdata),
  );
  const otherKey = await Deno.readTextFile(new URL("other_key.pem", testdata));
  await using server = HostileServer.start(
    reply("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"),
    { cert, key },
  );
  await using other = HostileServer.start(
    reply("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"),
    { cert: otherCert, key: otherKey },
  );
  await t.step("trusted", async () => {
    await withDir(async (dir) => {
      const result = await fetchToFile(
        server.url("/s", "localhost"),
        `${dir}/s`,
        {
          caCerts: [cert],
        },
      );
      assert.equal(result.url, server.url("/s", "localhost"));
      assert.equal(await Deno.readTextFile(`${dir}/s`), "secure");
    });
  });
  const refusals: [string, HostileServer, string[] | undefined, RegExp][] = [
    [
      "untrusted",
      server,
      undefined,
      /invalid peer certificate: UnknownIssuer$/,
    ],
    [
      "trusted, but for another name",
      other,
      [otherCert],
      /invalid peer certificate: certificate not valid for name "localhost"/,
    ],
  ];
  for (const [name, refused, caCerts, message] of refusals) {
    await t.step(name, async () => {
      await withDir(async (dir) => {
        const url = refused.url("/s");
        const error = await fetchToFile(url, `${dir}/s`, {
          caCerts,
          resume: true,
        }).catch((e) => e);
        assert.ok(error instanceof Deno.errors.InvalidData, String(error));
        assert.ok(
          error.message.startsWith(
            `Cannot download "${url}": cannot connect to "localhost:${refused.port}": `,
          ),
          error.message,
        );
        assert.match(error.message, message);
        // Not even a partial file: nothing came from a server not trusted.
        assert.deepEqual(await listing(dir), []);
      });
    });
  }
  // The handshake failed before any request could be sent.
  assert.equal(server.requests.length, 1);
  assert.equal(other.requests.length, 0);
});

Deno.test("fetchToFile() follows a redirect from HTTP to HTTPS", async () => {
  await using secure = HostileServer.start(
    reply("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"),
    { cert, key },
  );
  await using server = HostileServer.start(
    reply(`HTTP/1.1 301 Moved\r\nLocation: ${secure.url("/s")}\r\n\r\n`),
  );
  await withDir(async (dir) => {
    const result = await fetchToFile(server.url(), `${dir}/s`, {
      caCerts: [cert],
    });
    assert.equal(result.url, secure.url("/s"));
    assert.equal(await Deno.readTextFile(`${dir}/s`), "secure");
  });
});

Deno.test("fetchToFile() never follows a redirect from HTTPS to HTTP", async () => {
  await using plain = HostileServer.start(
    reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"),
  );
  await using server = HostileServer.start(
    reply(`HTTP/1.1 301 Moved\r\nLocation: ${plain.url()}\r\n\r\n`),
    { cert, key },
  );
  await withDir(async (dir) => {
    await assert.rejects(
      fetchToFile(server.url("/s", "localhost"), `${dir}/s`, {
        caCerts: [cert],
      }),
      /refusing to follow a redirect from HTTPS to HTTP/,
    );
    assert.deepEqual(await listing(dir), []);
  });
  assert.equal(plain.requests.length, 0);
});

testOver(
  SCHEMES,
  "fetchToFile() refuses redirects with a RedirectError that says where to",
  async (transport, t) => {
    await t.step("to file:", async () => {
      const error = await fails(
        transport,
        reply("HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n\r\n"),
        RedirectError,
        /refusing to follow a redirect to "file:\/\/\/etc\/passwd"/,
      ) as RedirectError;
      assert.equal(error.name, "RedirectError");
      assert.equal(error.location, "file:///etc/passwd");
      assert.equal(
        error.url,
        `${transport.scheme}//${transport.host}:${
          new URL(error.url).port
        }/file.bin`,
      );
    });
    await t.step("one more than maxRedirects", async () => {
      const error = await fails(
        transport,
        reply("HTTP/1.1 302 Found\r\nLocation: /next\r\n\r\n"),
        RedirectError,
        /too many redirects \(the limit is 1\)/,
        { maxRedirects: 1 },
      ) as RedirectError;
      assert.match(error.url, /\/next$/);
      assert.match(error.location, /\/next$/);
    });
    await t.step("to a URL with credentials", async () => {
      await fails(
        transport,
        // The same scheme: HTTPS to HTTP is refused for that already.
        reply(
          `HTTP/1.1 302 Found\r\nLocation: ${transport.scheme}//user:pw@127.0.0.1:9/\r\n\r\n`,
        ),
        RedirectError,
        /refusing to follow a redirect to a URL with credentials/,
      );
    });
    await t.step("a malformed Location is a malformed response", async () => {
      await fails(
        transport,
        reply("HTTP/1.1 302 Found\r\nLocation: http://[::1\r\n\r\n"),
        Deno.errors.InvalidData,
        /malformed "Location" "http:\/\/\[::1"/,
      );
    });
  },
);

testOver(
  SCHEMES,
  "fetchToFile() names the URL once, the one that failed",
  async (transport) => {
    await using server = transport.start(async (conn, request) => {
      await conn.write(
        request.target === "/file.bin"
          ? "HTTP/1.1 301 Moved\r\nLocation: /moved\r\n\r\n"
          : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      );
    });
    await withDir(async (dir) => {
      const error = await fetchToFile(
        server.url(),
        `${dir}/out`,
        transport.options(),
      ).catch((e) => e);
      assert.ok(error instanceof Deno.errors.InvalidData);
      assert.equal(
        error.message,
        `Cannot download "${
          server.url("/moved")
        }": malformed chunk size line "zz": it does not start with a chunk size`,
      );
    });
  },
);

Deno.test("fetchToFile() names the input it refuses", async () => {
  const invalid = await fetchToFile("not a url", "x").catch((e) => e);
  assert.ok(invalid instanceof TypeError);
  assert.equal(invalid.message, 'Cannot download "not a url": invalid URL');
  const option = await fetchToFile("http://127.0.0.1:9/", "x", { timeout: -1 })
    .catch((e) => e);
  assert.ok(option instanceof RangeError);
  assert.equal(
    option.message,
    'Cannot download "http://127.0.0.1:9/": "timeout" must be a positive number, received -1',
  );
});

testOver(
  SCHEMES,
  "fetchToFile() fails with what onProgress threw, unchanged",
  async (transport) => {
    const mine = new Error("stop here");
    await using server = transport.start(
      reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    );
    await withDir(async (dir) => {
      const caught = await fetchToFile(
        server.url(),
        `${dir}/out`,
        transport.options({
          onProgress: () => {
            throw mine;
          },
        }),
      ).catch((e) => e);
      assert.equal(caught, mine);
      assert.equal(mine.message, "stop here");
      assert.deepEqual(await listing(dir), []);
    });
  },
);

Deno.test('import "@netkit/tcp" loads neither the command nor node:util', async () => {
  const info = async (file: string) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(`../${file}`, import.meta.url).href],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const graph = JSON.parse(new TextDecoder().decode(output.stdout));
    return (graph.modules as { specifier: string }[]).map((m) => m.specifier);
  };
  const library = await info("mod.ts");
  assert.ok(library.some((s) => s.endsWith("/_fetch_to_file.ts")));
  assert.ok(
    !library.some((s) => s.endsWith("/_http_fetch_cli.ts")),
    library.join("\n"),
  );
  assert.ok(!library.includes("node:util"), library.join("\n"));
  // The command's own entry point does load it, when run.
  assert.ok(
    (await info("http_fetch.ts")).some((s) =>
      s.endsWith("/_http_fetch_cli.ts")
    ),
  );
});

/**
 * The command to run `script` as a user would, for `127.0.0.1` and
 * `localhost`. It trusts the test certificate for `https:` through the
 * runtime's `DENO_CERT`, since the programs take no certificates of their own.
 */
function program(script: string, ...args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1,localhost",
      "--allow-read",
      "--allow-write",
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    env: { DENO_CERT: new URL("cert.pem", testdata).pathname },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function cli(...args: string[]) {
  const output = await program("../http_fetch.ts", ...args).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

testOver(
  SCHEMES,
  "the http-fetch command downloads, refuses to overwrite and fails in one line",
  async (transport, t) => {
    await using server = transport.start(async (conn, request) => {
      await conn.write(
        request.target === "/missing"
          ? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
          : "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      );
    });
    await withDir(async (dir) => {
      await t.step(
        "downloads quietly when stderr is not a terminal",
        async () => {
          const run = await cli(
            server.url("/hello.txt"),
            "-o",
            `${dir}/hello.txt`,
          );
          assert.equal(run.code, 0, run.stderr);
          assert.equal(run.stderr, "");
          assert.equal(await Deno.readTextFile(`${dir}/hello.txt`), "hello");
        },
      );
      await t.step("refuses to overwrite without --force", async () => {
        await Deno.writeTextFile(`${dir}/hello.txt`, "mine");
        const run = await cli(
          server.url("/hello.txt"),
          "-o",
          `${dir}/hello.txt`,
        );
        assert.equal(run.code, 1);
        assert.match(run.stderr, /^error: .*already exists.*--force.*\n$/);
        assert.equal(await Deno.readTextFile(`${dir}/hello.txt`), "mine");
      });
      await t.step("overwrites with --force", async () => {
        const run = await cli(
          server.url("/hello.txt"),
          "-o",
          `${dir}/hello.txt`,
          "--force",
        );
        assert.equal(run.code, 0, run.stderr);
        assert.equal(await Deno.readTextFile(`${dir}/hello.txt`), "hello");
      });
      await t.step("fails with one line and no stack trace", async () => {
        const run = await cli(server.url("/missing"), "-o", `${dir}/missing`);
        assert.equal(run.code, 1);
        assert.equal(
          run.stderr,
          `error: Cannot download "${
            server.url("/missing")
          }": the server answered 404 Not Found\n`,
        );
        assert.deepEqual(await listing(dir), ["hello.txt"]);
      });
    });
  },
);

Deno.test("the http-fetch command explains its usage and version", async () => {
  const help = await cli("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: .*http-fetch URL/);
  const version = await cli("--version");
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, `${config.name} ${config.version}\n`);
  const bad = await cli("--max-redirects", "many", "http://127.0.0.1:9/");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: Invalid --max-redirects "many"/);
});

Deno.test("the http-fetch command names the file after the URL", async () => {
  const { defaultName } = await import("../_http_fetch_cli.ts");
  assert.equal(
    defaultName("http://h/dir/file%20name.tar.gz?x=1"),
    "file name.tar.gz",
  );
  assert.equal(defaultName("http://h/"), "index.html");
  assert.equal(defaultName("http://h/dir/"), "index.html");
  assert.equal(defaultName("http://h/a%2F..%2Fb"), "index.html");
  assert.equal(defaultName("http://h/.bashrc"), "index.html");
});

testOver(
  SCHEMES,
  "the http-fetch command takes --timeout in seconds",
  async (transport) => {
    await using server = transport.start(stall);
    await withDir(async (dir) => {
      const run = await cli(
        server.url(),
        "-o",
        `${dir}/out`,
        "--timeout",
        "0.3",
      );
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `error: Cannot download "${server.url()}": the server sent nothing for 300 ms\n`,
      );
      const bad = await cli(server.url(), "--timeout", "300ms");
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /a positive number of seconds/);
    });
  },
);

/**
 * Runs the command with --resume against a server that sends 1000 of 100000
 * bytes (with `fields`) and then stalls, and interrupts it with SIGINT once
 * the bytes are in the partial file.
 */
async function interruptResumable(
  transport: Transport,
  fields: string,
  dir: string,
) {
  await using server = transport.start(async (conn) => {
    await conn.write(
      `HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n${fields}\r\n`,
    );
    await conn.write(new Uint8Array(1000));
    await stall(conn);
  });
  const child = program(
    "../http_fetch.ts",
    server.url(),
    "-o",
    `${dir}/out`,
    "--resume",
  ).spawn();
  for (let waited = 0;; waited += 20) {
    const size = await Deno.stat(`${dir}/out.part`).then(
      (s) => s.size,
      () => 0,
    );
    if (size === 1000) break;
    if (waited > 20_000) {
      child.kill();
      await child.output();
      assert.fail("the partial file never got its 1000 bytes");
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGINT");
  const output = await child.output();
  return {
    code: output.code,
    stderr: new TextDecoder().decode(output.stderr),
    url: server.url(),
  };
}

testOver(
  SCHEMES,
  "the http-fetch command offers --resume after Ctrl-C only when something was kept",
  async (transport, t) => {
    await t.step("a strong ETag: the partial file is kept", async () => {
      await withDir(async (dir) => {
        const run = await interruptResumable(transport, 'ETag: "v1"\r\n', dir);
        assert.equal(run.code, 130);
        assert.equal(
          run.stderr,
          `error: Cannot download "${run.url}": interrupted, 1000 bytes kept: run again with --resume to continue\n`,
        );
        assert.deepEqual(await listing(dir), ["out.part", "out.part.json"]);
      });
    });
    await t.step("no validator: nothing to resume", async () => {
      await withDir(async (dir) => {
        const run = await interruptResumable(transport, "", dir);
        assert.equal(run.code, 130);
        assert.equal(
          run.stderr,
          `error: Cannot download "${run.url}": interrupted, with nothing kept to resume\n`,
        );
        assert.deepEqual(await listing(dir), []);
      });
    });
  },
);

testOver(
  SCHEMES,
  "examples/fetch_page.ts prints the status line and headers and saves the body",
  async (transport) => {
    await using server = transport.start(reply(
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
      "6\r\n<p>hi\n\r\n0\r\n\r\n",
    ));
    await withDir(async (dir) => {
      const output = await program(
        "../examples/fetch_page.ts",
        server.url("/"),
        "-o",
        `${dir}/page.html`,
      ).output();
      const stdout = new TextDecoder().decode(output.stdout);
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      assert.match(stdout, /^HTTP\/1\.1 200 OK\ncontent-type: text\/html\n/);
      assert.match(stdout, /Saved 6 bytes to ".*page\.html"\n$/);
      assert.equal(await Deno.readTextFile(`${dir}/page.html`), "<p>hi\n");
    });
  },
);
