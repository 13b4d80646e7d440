// Copyright 2026 the tcp authors. MIT license.
// The tutorial's programs in Deno against their Python 3 ports, both ways
// round, as a learner would run them: every pair must hold the tutorial's
// conversation, byte for byte, with the same prints on both sides. The
// Python-Python run shows what the tutorial itself does. Then nc, as a
// learner's telnet, against every Deno server.

import assert from "node:assert/strict";
import { TcpClient, TcpServer } from "../mod.ts";
import {
  closedPort,
  type ExampleProcess,
  type ExampleResult,
  runExample,
  spawnExample,
  withTimeout,
} from "./_example.ts";

const PYTHON = new URL("../examples/tutorial/python/", import.meta.url);

type Side = "Deno" | "Python";
/** Server side, client side: each pair both ways round, and each alone. */
const WAYS: [Side, Side][] = [
  ["Deno", "Python"],
  ["Python", "Deno"],
  ["Deno", "Deno"],
  ["Python", "Python"],
];

const PROGRAMS = [
  "thank_you_server",
  "send_client",
  "qq_chat_server",
  "welcome_server",
  "welcome_client",
  "ninhao_server",
  "ninhao_client",
  "echo_once_server",
  "ok_server",
  "save_page",
];
const CLIENTS = ["send_client", "welcome_client", "ninhao_client", "save_page"];

const PROMPT = "请输入要发送的数据:";
const RECEIVED = "接收到的数据为:";

/** Extra arguments: flags for the Deno program, positionals for Python. */
interface Extra {
  /** The server a client connects to (default: 127.0.0.1). */
  hostname?: string;
  deno?: string[];
  python?: string[];
  cwd?: string;
}

function spawnPython(
  name: string,
  args: string[],
  cwd?: string,
): ExampleProcess {
  return spawnExample(`${name}.py`, args, {
    command: ["python3", "-u", new URL(`${name}.py`, PYTHON).pathname],
    cwd,
  });
}

/** Starts a tutorial server on 127.0.0.1 and a free port. */
function server(side: Side, name: string, extra: Extra = {}): ExampleProcess {
  return side === "Deno"
    ? spawnExample(`tutorial/${name}.ts`, [
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      ...extra.deno ?? [],
    ])
    : spawnPython(name, ["127.0.0.1", "0", ...extra.python ?? []]);
}

/** Starts a tutorial client against 127.0.0.1:port. */
function client(
  side: Side,
  name: string,
  port: number,
  extra: Extra = {},
): ExampleProcess {
  const hostname = extra.hostname ?? "127.0.0.1";
  return side === "Deno"
    ? spawnExample(`tutorial/${name}.ts`, [
      "--hostname",
      hostname,
      "--port",
      String(port),
      ...extra.deno ?? [],
    ], {
      permissions: ["--allow-net", "--allow-write"],
      cwd: extra.cwd,
    })
    : spawnPython(
      name,
      [hostname, String(port), ...extra.python ?? []],
      extra.cwd,
    );
}

/** Starts nc (netcat-openbsd) against 127.0.0.1:port, half-closing at the end of its input. */
function nc(port: number): ExampleProcess {
  return spawnExample("nc", ["-N", "127.0.0.1", String(port)], {
    command: ["nc"],
  });
}

/**
 * Writes `input` to a process's stdin, ends its stdin, waits for it to exit
 * and checks that it went well.
 */
async function complete(
  process: ExampleProcess,
  input = "",
): Promise<ExampleResult> {
  if (input !== "") await process.write(input);
  const result = await process.finish();
  assert.equal(result.code, 0, `${process.name}: ${result.stderr}`);
  assert.equal(result.stderr, "", process.name);
  return result;
}

function connect(port: number): Promise<TcpClient> {
  return TcpClient.connect({ hostname: "127.0.0.1", port, timeout: 5000 });
}

function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

/** Reads exactly `expected` and returns it, failing instead of waiting forever. */
async function expectBytes(conn: TcpClient, expected: string): Promise<void> {
  const length = new TextEncoder().encode(expected).length;
  assert.equal(
    text(await withTimeout(conn.readExact(length), JSON.stringify(expected))),
    expected,
  );
}

function expectEnd(conn: TcpClient): Promise<void> {
  return withTimeout(conn.read(), "the hang-up", 5000).then((data) =>
    assert.equal(text(data), null)
  );
}

Deno.test("thank_you_server and send_client hold the tutorial's conversation either way round", async (t) => {
  for (const [s, c] of WAYS) {
    await t.step(`${s} server, ${c} client`, async () => {
      await using srv = server(s, "thank_you_server");
      const port = await srv.listeningPort();
      const typed = await complete(
        client(c, "send_client", port),
        "hello\n",
      );
      assert.equal(typed.stdout, `${PROMPT}${RECEIVED} thank you !\n`);
      const served = await complete(srv);
      assert.equal(
        served.stdout,
        `listening on 127.0.0.1:${port}\n${RECEIVED} hello\n`,
      );
    });
  }
  await t.step("Python server, Deno client with --message", async () => {
    await using srv = server("Python", "thank_you_server");
    const port = await srv.listeningPort();
    const sent = await complete(
      client("Deno", "send_client", port, { deno: ["--message", "你好 Ada"] }),
    );
    assert.equal(sent.stdout, `${RECEIVED} thank you !\n`);
    assert.equal(
      (await complete(srv)).stdout,
      `listening on 127.0.0.1:${port}\n${RECEIVED} 你好 Ada\n`,
    );
  });
});

Deno.test("qq_chat_server takes turns with one client after another either way round", async (t) => {
  for (const [s, c] of WAYS) {
    await t.step(`${s} server, ${c} clients`, async () => {
      await using srv = server(s, "qq_chat_server");
      const port = await srv.listeningPort();
      const turns = [["hello", "hi"], ["again", "bye"]];
      let expected = `listening on 127.0.0.1:${port}\n`;
      for (const [said, answer] of turns) {
        await using typing = client(c, "send_client", port);
        await typing.write(`${said}\n`);
        expected += `recv: ${said}\nsend:`;
        await srv.waitForStdout((out) => out === expected, `"${said}"`);
        // What is typed at the server goes out without its newline.
        await srv.write(`${answer}\n`);
        const typed = await complete(typing);
        assert.equal(typed.stdout, `${PROMPT}${RECEIVED} ${answer}\n`);
      }
      // A third client is waiting for an answer when the typing ends.
      await using last = await connect(port);
      await last.write("x");
      expected += "recv: x\nsend:";
      await srv.waitForStdout((out) => out === expected, `"x"`);
      await srv.closeStdin();
      await expectEnd(last);
      const served = await complete(srv);
      assert.equal(served.stdout, expected);
    });
  }
});

Deno.test("welcome_server and welcome_client hold the tutorial's conversation either way round", async (t) => {
  for (const [s, c] of WAYS) {
    await t.step(`${s} server, ${c} client`, async () => {
      await using srv = server(s, "welcome_server", {
        deno: ["--delay", "0"],
        python: ["0"],
      });
      const port = await srv.listeningPort();
      const talked = await complete(client(c, "welcome_client", port));
      assert.equal(
        talked.stdout,
        "Welcome\nHello,ning!\nHello,yan!\nHello,ke!\n",
      );
      await srv.waitForLine(/^Connection from .* closed$/);
      // It serves forever, as in the tutorial: stop it.
      const served = await srv.stop();
      assert.match(
        served.stdout,
        new RegExp(
          `^listening on 127\\.0\\.0\\.1:${port}\\n` +
            "Waiting for connection\\n" +
            "Accept new connection from (127\\.0\\.0\\.1:\\d+)\\.\\.\\.\\n" +
            "Connection from \\1 closed\\n$",
        ),
      );
      assert.equal(served.stderr, "");
    });
  }
});

Deno.test("welcome_server serves several clients at once, with the tutorial's one-second delay", async (t) => {
  for (const side of ["Deno", "Python"] as const) {
    await t.step(`${side} server`, async () => {
      await using srv = server(side, "welcome_server");
      const port = await srv.listeningPort();
      await using ada = await connect(port);
      await using grace = await connect(port);
      // Both are welcomed while the other is still connected.
      await expectBytes(ada, "Welcome");
      await expectBytes(grace, "Welcome");
      await Promise.all([ada.write("Ada"), grace.write("Grace")]);
      await expectBytes(ada, "Hello,Ada!");
      await expectBytes(grace, "Hello,Grace!");
      await Promise.all([ada.write("exit"), grace.write("exit")]);
      await expectEnd(ada);
      await expectEnd(grace);
    });
  }
});

Deno.test("ninhao_server and ninhao_client pass 您好 either way round", async (t) => {
  for (const [s, c] of WAYS) {
    await t.step(`${s} server, ${c} client`, async () => {
      await using srv = server(s, "ninhao_server");
      const port = await srv.listeningPort();
      const received = await complete(client(c, "ninhao_client", port));
      assert.equal(received.stdout, "您好\n");
      const served = await complete(srv);
      assert.equal(served.stdout, `listening on 127.0.0.1:${port}\n`);
    });
  }
});

const SOCKET_STEPS =
  "Socket created \nSocket bind complete\nSocket now listening\n";

Deno.test("echo_once_server echoes one message to send_client either way round", async (t) => {
  for (const [s, c] of WAYS) {
    await t.step(`${s} server, ${c} client`, async () => {
      await using srv = server(s, "echo_once_server");
      const port = await srv.listeningPort();
      const typed = await complete(client(c, "send_client", port), "happy\n");
      assert.equal(typed.stdout, `${PROMPT}${RECEIVED} happy\n`);
      const served = await complete(srv);
      assert.match(
        served.stdout,
        new RegExp(
          `^${SOCKET_STEPS}listening on 127\\.0\\.0\\.1:${port}\\n` +
            "Connected with 127\\.0\\.0\\.1:\\d+\\n$",
        ),
      );
    });
  }
});

Deno.test("ok_server answers clients one after another until one sends nothing, either way round", async (t) => {
  for (const [s, c] of WAYS) {
    await t.step(`${s} server, ${c} clients`, async () => {
      await using srv = server(s, "ok_server");
      const port = await srv.listeningPort();
      for (const message of ["hello", "again"]) {
        const typed = await complete(
          client(c, "send_client", port),
          `${message}\n`,
        );
        assert.equal(typed.stdout, `${PROMPT}${RECEIVED} OK...${message}\n`);
      }
      // A client that sends nothing and leaves stops the server.
      (await connect(port)).close();
      const served = await complete(srv);
      assert.match(
        served.stdout,
        new RegExp(
          `^${SOCKET_STEPS}listening on 127\\.0\\.0\\.1:${port}\\n` +
            "(connected with 127\\.0\\.0\\.1:\\d+\\n){3}$",
        ),
      );
    });
  }
});

/** A page with more than one recv(1024) of body, a blank line inside and bytes that are not UTF-8. */
function page(): Uint8Array {
  const html = new TextEncoder().encode(
    `<html>\r\n\r\n${"新浪 sina ".repeat(300)}</html>`,
  );
  const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
  const body = new Uint8Array(html.length + binary.length);
  body.set(html);
  body.set(binary, html.length);
  return body;
}

Deno.test("save_page sends the tutorial's request, prints the head and saves the body as it came", async (t) => {
  const body = page();
  const head = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" +
    `Content-Length: ${body.length}\r\nConnection: close`;
  const requests: string[] = [];
  await using web = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = web.serve(async (conn) => {
    requests.push(text(await conn.readUntil("\r\n\r\n"))!);
    // In pieces, so that the reads see several.
    await conn.write(`${head}\r\n\r\n`);
    await conn.write(body.subarray(0, 1000));
    await conn.write(body.subarray(1000));
  });
  const port = web.addr.port;
  const dir = await Deno.makeTempDir();
  try {
    for (const side of ["Deno", "Python"] as const) {
      await t.step(`${side} program`, async () => {
        const output = `${side}.html`;
        const saved = await complete(client(side, "save_page", port, {
          deno: ["--path", "/news/", "-o", output],
          python: ["/news/", output],
          cwd: dir,
        }));
        assert.equal(
          saved.stdout,
          "Socket Created\nIp address of 127.0.0.1 is 127.0.0.1\n" +
            "Socket Connected to 127.0.0.1 on ip 127.0.0.1\n" +
            `Message send successfully\n${head}\n`,
        );
        assert.equal(
          requests.shift(),
          `GET /news/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
        );
        assert.deepEqual(await Deno.readFile(`${dir}/${output}`), body);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await web.shutdown();
    await serving;
  }
});

Deno.test("save_page saves a file from python3 -m http.server by host name", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const body = page();
    await Deno.mkdir(`${dir}/www`);
    await Deno.writeFile(`${dir}/www/page.html`, body);
    await using http = spawnExample(
      "http.server",
      ["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
      { command: ["python3"], cwd: `${dir}/www` },
    );
    const serving = await http.waitForLine(/^Serving HTTP on 127\.0\.0\.1/);
    const port = Number(/ port (\d+) /.exec(serving)![1]);
    for (const side of ["Deno", "Python"] as const) {
      await t.step(`${side} program`, async () => {
        const output = `${dir}/${side}.html`;
        const saved = await complete(client(side, "save_page", port, {
          hostname: "localhost",
          deno: ["--path", "/page.html", "-o", output],
          python: ["/page.html", output],
        }));
        assert.match(
          saved.stdout,
          /^Socket Created\nIp address of localhost is 127\.0\.0\.1\n/,
        );
        assert.match(saved.stdout, /\nMessage send successfully\n/);
        assert.match(saved.stdout, /\nHTTP\/1\.0 200 OK\r\n/);
        assert.match(
          saved.stdout,
          new RegExp(`\r\nContent-Length: ${body.length}\r\n`),
        );
        assert.deepEqual(await Deno.readFile(output), body);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("save_page leaves no file when Ctrl-C stops it mid-download", async (t) => {
  // Sends the head and part of the body, then stalls.
  let sent!: () => void;
  await using web = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = web.serve(async (conn) => {
    await conn.readUntil("\r\n\r\n");
    await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    await conn.write(new Uint8Array(1000).fill(120));
    sent();
    while (await conn.read() !== null);
  });
  const dir = await Deno.makeTempDir();
  try {
    for (const side of ["Deno", "Python"] as const) {
      await t.step(`${side} program`, async () => {
        const stalled = new Promise<void>((resolve) => sent = resolve);
        await using saving = client(side, "save_page", web.addr.port, {
          deno: ["-o", "page.html"],
          python: ["/", "page.html"],
          cwd: dir,
        });
        await withTimeout(stalled, "the part of the body");
        await saving.waitForLine(/^Message send successfully$/);
        const result = await saving.stop("SIGINT");
        // Killed by the signal (Python: KeyboardInterrupt, then the same).
        assert.equal(result.code, 130, result.stderr);
        // Nothing is written before the server closes.
        assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await web.shutdown();
    await serving;
  }
});

/**
 * Types `input` into nc, waits until nc has printed `expected`, then ends
 * nc's input, as a learner's Ctrl-D: nc half-closes and exits once the
 * server's side is closed too (it does not exit on the server's close alone).
 */
async function ncSays(
  talk: ExampleProcess,
  input: string,
  expected: string,
): Promise<void> {
  if (input !== "") await talk.write(input);
  await talk.waitForStdout((out) => out === expected, JSON.stringify(expected));
  assert.equal((await complete(talk)).stdout, expected);
}

Deno.test("nc gets the tutorial's answers from every Deno server", async (t) => {
  await t.step("thank_you_server", async () => {
    await using srv = server("Deno", "thank_you_server");
    const port = await srv.listeningPort();
    // A newline typed in nc is part of the message.
    await ncSays(nc(port), "hello\n", "thank you !");
    assert.equal(
      (await complete(srv)).stdout,
      `listening on 127.0.0.1:${port}\n${RECEIVED} hello\n\n`,
    );
  });

  await t.step("qq_chat_server", async () => {
    await using srv = server("Deno", "qq_chat_server");
    const port = await srv.listeningPort();
    await using chat = nc(port);
    let expected = `listening on 127.0.0.1:${port}\n`;
    let received = "";
    for (const [said, answer] of [["hello", "hi"], ["how are you", "fine"]]) {
      await chat.write(`${said}\n`);
      expected += `recv: ${said}\n\nsend:`;
      await srv.waitForStdout((out) => out === expected, `"${said}"`);
      await srv.write(`${answer}\n`);
      received += answer;
      await chat.waitForStdout((out) => out === received, `"${answer}"`);
    }
    // nc's end of input half-closes: the server sees the client leave,
    // closes its side, and waits for the next client.
    assert.equal((await complete(chat)).stdout, "hifine");
    await using next = await connect(port);
    await next.write("next");
    expected += "recv: next\nsend:";
    await srv.waitForStdout((out) => out === expected, `"next"`);
    await srv.closeStdin();
    await expectEnd(next);
    assert.equal((await complete(srv)).stdout, expected);
  });

  await t.step("welcome_server", async () => {
    await using srv = server("Deno", "welcome_server", {
      deno: ["--delay", "0"],
    });
    await using talk = nc(await srv.listeningPort());
    await talk.waitForStdout((out) => out === "Welcome", "the welcome");
    await talk.write("ning");
    await talk.waitForStdout((out) => out.endsWith("Hello,ning!"), "a reply");
    // A newline is part of the message: the tutorial's protocol has no lines.
    await talk.write("yan\n");
    await talk.waitForStdout((out) => out.endsWith("Hello,yan\n!"), "a reply");
    await talk.write("exit");
    await srv.waitForLine(/^Connection from .* closed$/);
    assert.equal(
      (await complete(talk)).stdout,
      "WelcomeHello,ning!Hello,yan\n!",
    );
  });

  await t.step("ninhao_server", async () => {
    await using srv = server("Deno", "ninhao_server");
    await ncSays(nc(await srv.listeningPort()), "", "您好");
    await complete(srv);
  });

  await t.step("echo_once_server", async () => {
    await using srv = server("Deno", "echo_once_server");
    await ncSays(nc(await srv.listeningPort()), "happy\n", "happy\n");
    await complete(srv);
  });

  await t.step("ok_server", async () => {
    await using srv = server("Deno", "ok_server");
    const port = await srv.listeningPort();
    await ncSays(nc(port), "happy\n", "OK...happy\n");
    // nc with nothing to say half-closes at once: the server stops.
    assert.equal((await complete(nc(port))).stdout, "");
    const served = await complete(srv);
    assert.equal(served.stdout.match(/^connected with /gm)?.length, 2);
  });
});

Deno.test("every tutorial program prints its usage for --help and exits 0", async (t) => {
  for (const name of PROGRAMS) {
    await t.step(name, async () => {
      const result = await runExample(`tutorial/${name}.ts`, ["--help"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(
          `^Usage: deno run --allow-net (--allow-write )?examples/tutorial/${name}\\.ts`,
        ),
      );
      assert.match(result.stdout, /--hostname HOST/);
      assert.match(result.stdout, /--port PORT/);
      assert.equal(result.stderr, "");
    });
  }
});

Deno.test("tutorial clients report a refused connection in one line and exit 1", async (t) => {
  const port = closedPort();
  for (const name of CLIENTS) {
    await t.step(name, async () => {
      // send_client must not wait for a line on stdin first.
      const message = name === "send_client" ? ["--message", "unused"] : [];
      const result = await runExample(`tutorial/${name}.ts`, [
        "--hostname",
        "127.0.0.1",
        "--port",
        String(port),
        ...message,
      ]);
      assert.equal(result.code, 1, result.stdout);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(
        lines[0]!,
        new RegExp(
          `^error: Cannot connect to "127\\.0\\.0\\.1:${port}": connection refused`,
        ),
      );
    });
  }
});

Deno.test("the done-properly examples say in --help whether they speak lines, and point to the tutorial's", async (t) => {
  const examples = {
    "echo_server.ts": false,
    "echo_client.ts": false,
    "greeting_server.ts": true,
    "greeting_client.ts": true,
    "chat_server.ts": true,
    "chat_client.ts": true,
  };
  for (const [name, speaksLines] of Object.entries(examples)) {
    await t.step(name, async () => {
      const result = await runExample(name, ["--help"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /examples\/tutorial\//);
      assert.equal(/^It speaks lines/m.test(result.stdout), speaksLines);
    });
  }
});
