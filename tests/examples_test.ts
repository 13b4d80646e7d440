// Copyright 2026 the tcp authors. MIT license.
// Each example runs as a subprocess, as a reader would run it; the tests
// talk to it over loopback and check what it prints and how it exits.

import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { TcpClient, type TcpConnection, TcpServer } from "../mod.ts";
import {
  assertOneErrorLine,
  closedPort,
  type ExampleProcess,
  runExample,
  spawnExample,
  withTimeout,
} from "./_example.ts";

const EXAMPLES = [
  "echo_server.ts",
  "echo_client.ts",
  "greeting_server.ts",
  "greeting_client.ts",
  "chat_server.ts",
  "chat_client.ts",
  "port_scan.ts",
  "demo.ts",
];
const SERVERS = ["echo_server.ts", "greeting_server.ts", "chat_server.ts"];
const CLIENTS = ["echo_client.ts", "greeting_client.ts", "chat_client.ts"];
/** A server's flags in tests: loopback only (the default is every interface), any free port. */
const SERVE = ["--hostname", "127.0.0.1", "--port", "0"];

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads a line from a connection, failing instead of waiting forever. */
function line(conn: TcpConnection, who = "a line"): Promise<string | null> {
  return withTimeout(conn.readLine(), who, 5000);
}

function connect(port: number): Promise<TcpClient> {
  return TcpClient.connect({ hostname: "127.0.0.1", port, timeout: 5000 });
}

/** Connects to a chat server and sends `nick` once it asks for one. */
async function joinChat(port: number, nick: string): Promise<TcpClient> {
  const conn = await connect(port);
  assert.equal(await line(conn), "Welcome! What is your nickname?");
  await conn.write(`${nick}\n`);
  return conn;
}

Deno.test("echo_server.ts echoes what a client sends", async () => {
  await using server = spawnExample("echo_server.ts", SERVE);
  const port = await server.listeningPort();
  {
    await using client = await connect(port);
    await client.write("Hello, world");
    assert.equal(
      new TextDecoder().decode(await withTimeout(client.readExact(12), "echo")),
      "Hello, world",
    );
    // More than one recv(1024) at a time: the echo comes back in pieces.
    const big = new Uint8Array(300_000).map((_, i) => i % 251);
    const sending = client.write(big);
    assert.deepEqual(
      await withTimeout(client.readExact(big.length), "the big echo"),
      big,
    );
    await sending;
    await client.closeWrite();
    assert.equal(await withTimeout(client.read(), "the end"), null);
  }
  const result = await server.stop("SIGTERM");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^SIGTERM: shutting down/m);
  assert.match(result.stdout, /^stopped: /m);
  assert.equal(result.stderr, "");
});

Deno.test("echo_server.ts closes idle clients and exits 0 on SIGINT", async () => {
  await using server = spawnExample("echo_server.ts", SERVE);
  const port = await server.listeningPort();
  await using client = await connect(port);
  await server.waitForLine(/^connected: /);
  const result = await server.stop("SIGINT");
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^stopped: 1 connections closed cleanly, 0 cut$/m,
  );
  assert.equal(await withTimeout(client.read(), "the hang-up"), null);
});

Deno.test("echo_client.ts prints the echo of its message and exits 0", async () => {
  await using server = spawnExample("echo_server.ts", SERVE);
  const port = String(await server.listeningPort());
  const plain = await runExample("echo_client.ts", ["--port", port]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, "Hello, world\n");
  // Longer than one recv(1024), with characters split across reads.
  const message = "héllo wörld ✓ ".repeat(200);
  const unicode = await runExample("echo_client.ts", [
    "--port",
    port,
    "--message",
    message,
  ]);
  assert.equal(unicode.code, 0, unicode.stderr);
  assert.equal(unicode.stdout, `${message}\n`);
});

Deno.test("client examples give up on a server that never answers, after --timeout", async (t) => {
  // Accepts, reads everything, says nothing.
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    while (await conn.read() !== null);
  });
  const port = String(server.addr.port);
  await t.step("echo_client.ts: the whole exchange", async () => {
    const result = await runExample("echo_client.ts", [
      "--port",
      port,
      "--timeout",
      "0.3",
    ]);
    assert.equal(result.code, 1);
    assertOneErrorLine(
      result.stderr,
      /^error: The echo took longer than 0\.3 s$/,
    );
  });
  await t.step("greeting_client.ts: each wait for a reply", async () => {
    const result = await runExample("greeting_client.ts", [
      "--port",
      port,
      "--name",
      "Ada",
      "--timeout",
      "0.3",
    ]);
    assert.equal(result.code, 1);
    assertOneErrorLine(
      result.stderr,
      /^error: Cannot read from "127\.0\.0\.1:\d+": timed out after 300 ms$/,
    );
  });
  await server.shutdown();
  await serving;
});

Deno.test("echo_client.ts prints what came back before the server hung up or went silent, then fails", async (t) => {
  // Sends back the first three bytes of the message, then hangs up or says
  // nothing more.
  let hangUp = true;
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    await conn.readExact(12);
    await conn.write("Hel");
    if (hangUp) return;
    while (await conn.read() !== null);
  });
  const port = String(server.addr.port);
  await t.step("a short read", async () => {
    const result = await runExample("echo_client.ts", ["--port", port]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "Hel\n");
    assertOneErrorLine(
      result.stderr,
      new RegExp(
        `^error: Cannot read the echo from "127\\.0\\.0\\.1:${port}": the server closed the connection after 3 of 12 bytes$`,
      ),
    );
  });
  await t.step("a timeout", async () => {
    hangUp = false;
    const result = await runExample("echo_client.ts", [
      "--port",
      port,
      "--timeout",
      "0.5",
    ]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "Hel\n");
    assertOneErrorLine(
      result.stderr,
      /^error: The echo took longer than 0\.5 s$/,
    );
  });
  await server.shutdown();
  await serving;
});

Deno.test("client examples end on Ctrl-C while they wait, and the server sees them go", async (t) => {
  // Accepts, reads everything, says nothing; tells when a client has gone.
  const gone: (() => void)[] = [];
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    while (await conn.read() !== null);
    gone.shift()?.();
  });
  const port = String(server.addr.port);
  for (
    const [name, args] of [
      ["echo_client.ts", []],
      ["greeting_client.ts", ["--name", "Ada"]],
    ] as const
  ) {
    await t.step(name, async () => {
      const left = new Promise<void>((resolve) => gone.push(resolve));
      await using client = spawnExample(name, [
        "--port",
        port,
        "--timeout",
        "60",
        ...args,
      ]);
      // Connected: the server's handler waits for it.
      await withTimeout(
        (async () => {
          while (server.connections === 0) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })(),
        "the connection",
      );
      const result = await client.stop("SIGINT");
      // Nothing to clean up but the socket, which the system closes: the
      // default Ctrl-C does it, as a shell shows it (130).
      assert.equal(result.code, 130);
      assert.equal(result.stderr, "");
      await withTimeout(left, "the server to see the hang-up");
    });
  }
  await server.shutdown();
  await serving;
});

Deno.test("greeting_server.ts greets several clients at once and hangs up on exit", async () => {
  await using server = spawnExample("greeting_server.ts", SERVE);
  const port = await server.listeningPort();
  const names = ["Ada", "Grace", "Linus", "Margaret", "Ken"];
  const clients = await Promise.all(names.map(() => connect(port)));
  try {
    for (const client of clients) {
      assert.equal(await line(client, "the welcome"), "Welcome!");
    }
    // Every client is connected before any is answered: each has a handler.
    await Promise.all(clients.map((c, i) => c.write(`${names[i]}\n`)));
    for (const [i, client] of clients.entries()) {
      assert.equal(await line(client), `Hello, ${names[i]}!`);
    }
    await clients[0]!.write("Ada again\n");
    assert.equal(await line(clients[0]!), "Hello, Ada again!");
    for (const client of clients) {
      await client.write("exit\n");
      assert.equal(await line(client, "the goodbye"), "Goodbye!");
      assert.equal(await line(client, "the hang-up"), null);
    }
  } finally {
    for (const client of clients) client.close();
  }
  const result = await server.stop();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.match(/^connected: /gm)?.length, 5);
  assert.equal(result.stdout.match(/^disconnected: /gm)?.length, 5);
});

Deno.test("greeting_server.ts says goodbye to connected clients when it shuts down", async () => {
  await using server = spawnExample("greeting_server.ts", SERVE);
  await using client = await connect(await server.listeningPort());
  assert.equal(await line(client), "Welcome!");
  const stopping = server.stop("SIGTERM");
  assert.equal(await line(client), "Server is shutting down, goodbye!");
  assert.equal(await line(client), null);
  const result = await stopping;
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^stopped: 1 connections closed cleanly, 0 cut$/m,
  );
});

Deno.test("greeting_server.ts tells a client whose line is too long and hangs up", async () => {
  await using server = spawnExample("greeting_server.ts", SERVE);
  await using client = await connect(await server.listeningPort());
  assert.equal(await line(client), "Welcome!");
  await client.write("x".repeat(5000));
  assert.equal(await line(client), "Error: lines are limited to 1024 bytes");
  assert.equal(await line(client), null);
  const result = await server.stop();
  assert.equal(result.code, 0, result.stderr);
  // The client's mistake is not the server's failure.
  assert.equal(result.stderr, "");
});

Deno.test("greeting_client.ts sends each --name, then exit, and prints the replies", async () => {
  await using server = spawnExample("greeting_server.ts", SERVE);
  const port = String(await server.listeningPort());
  const result = await runExample("greeting_client.ts", [
    "--port",
    port,
    "--name",
    "Ada",
    "--name",
    "Grace",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    "Welcome!\nHello, Ada!\nHello, Grace!\nGoodbye!\n",
  );
});

Deno.test("greeting_client.ts sends the lines of its stdin until exit", async () => {
  await using server = spawnExample("greeting_server.ts", SERVE);
  const port = String(await server.listeningPort());
  const toEnd = await runExample(
    "greeting_client.ts",
    ["--port", port],
    "Ada\r\nGrace\n",
  );
  assert.equal(toEnd.code, 0, toEnd.stderr);
  assert.equal(
    toEnd.stdout,
    "Welcome!\nHello, Ada!\nHello, Grace!\nGoodbye!\n",
  );
  const toExit = await runExample(
    "greeting_client.ts",
    ["--port", port],
    "Linus\nexit\nnot sent\n",
  );
  assert.equal(toExit.code, 0, toExit.stderr);
  assert.equal(toExit.stdout, "Welcome!\nHello, Linus!\nGoodbye!\n");
});

Deno.test("chat_server.ts announces joins and leaves and passes each line to the others only", async () => {
  await using server = spawnExample("chat_server.ts", SERVE);
  const port = await server.listeningPort();
  await using alice = await joinChat(port, "alice");
  assert.equal(await line(alice), "* hello alice! nobody else is here");
  await using bob = await joinChat(port, "bob");
  assert.equal(await line(bob), "* hello bob! here: alice");
  assert.equal(await line(alice), "* bob joined");
  await using carol = await joinChat(port, "carol");
  assert.equal(await line(carol), "* hello carol! here: alice, bob");
  assert.equal(await line(alice), "* carol joined");
  assert.equal(await line(bob), "* carol joined");

  await alice.write("hi all\n");
  assert.equal(await line(bob), "<alice> hi all");
  assert.equal(await line(carol), "<alice> hi all");
  await bob.write("hey alice\n");
  // Alice's next line is Bob's, so her own was not sent back to her.
  assert.equal(await line(alice), "<bob> hey alice");
  assert.equal(await line(carol), "<bob> hey alice");

  await bob.write("/quit\n");
  assert.equal(await line(bob), null);
  assert.equal(await line(alice), "* bob left");
  assert.equal(await line(carol), "* bob left");
  carol.close();
  assert.equal(await line(alice), "* carol left");

  const stopping = server.stop("SIGTERM");
  assert.equal(await line(alice), "* server is shutting down");
  assert.equal(await line(alice), null);
  const result = await stopping;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^alice joined from 127\.0\.0\.1:\d+$/m);
  assert.match(result.stdout, /^bob left$/m);
  assert.equal(result.stderr, "");
});

Deno.test("chat_server.ts asks again for a nickname that is taken or invalid", async () => {
  await using server = spawnExample("chat_server.ts", SERVE);
  const port = await server.listeningPort();
  await using first = await joinChat(port, "alice");
  assert.equal(await line(first), "* hello alice! nobody else is here");

  await using second = await connect(port);
  assert.equal(await line(second), "Welcome! What is your nickname?");
  await second.write("alice\n");
  assert.equal(await line(second), "* alice is taken; try another");
  await second.write("two words\n");
  assert.match((await line(second))!, /^\* a nickname is 1 to 20 letters/);
  await second.write("alice2\n");
  assert.equal(await line(second), "* hello alice2! here: alice");
  assert.equal(await line(first), "* alice2 joined");
});

Deno.test("chat_client.ts prints incoming lines while it reads stdin, and leaves on end of input", async () => {
  await using server = spawnExample("chat_server.ts", SERVE);
  const port = await server.listeningPort();
  await using alice = await joinChat(port, "alice");
  assert.equal(await line(alice), "* hello alice! nobody else is here");

  await using bob = spawnExample("chat_client.ts", ["--port", String(port)]);
  assert.equal(await bob.readLine(), "Welcome! What is your nickname?");
  // The first line of stdin is the nickname.
  await bob.write("bob\n");
  assert.equal(await bob.readLine(), "* hello bob! here: alice");
  assert.equal(await line(alice), "* bob joined");
  // Bob types nothing, yet Alice's line is printed: the socket is read
  // while stdin waits.
  await alice.write("hi bob\n");
  assert.equal(await bob.readLine(), "<alice> hi bob");
  await bob.write("hi alice\n");
  assert.equal(await line(alice), "<bob> hi alice");

  await bob.closeStdin();
  assert.equal(await line(alice), "* bob left");
  const result = await bob.finish();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
});

Deno.test("chat_client.ts uses --nick and exits when the server shuts down", async () => {
  await using server = spawnExample("chat_server.ts", SERVE);
  const port = String(await server.listeningPort());
  await using carol = spawnExample("chat_client.ts", [
    "--port",
    port,
    "--nick",
    "carol",
  ]);
  assert.equal(await carol.readLine(), "Welcome! What is your nickname?");
  assert.equal(await carol.readLine(), "* hello carol! nobody else is here");
  const stopped = await server.stop("SIGTERM");
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(await carol.readLine(), "* server is shutting down");
  assert.equal(await carol.readLine(), null);
  // Its stdin is still open: the hang-up alone must end it.
  const result = await carol.finish({ closeStdin: false });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
});

Deno.test("chat_client.ts leaves cleanly on Ctrl-C", async () => {
  await using server = spawnExample("chat_server.ts", SERVE);
  const port = await server.listeningPort();
  await using alice = await joinChat(port, "alice");
  assert.equal(await line(alice), "* hello alice! nobody else is here");
  await using dave = spawnExample("chat_client.ts", [
    "--port",
    String(port),
    "--nick",
    "dave",
  ]);
  await dave.waitForLine(/^\* hello dave!/);
  assert.equal(await line(alice), "* dave joined");
  dave.kill("SIGINT");
  assert.equal(await line(alice), "* dave left");
  const result = await dave.finish({ closeStdin: false });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
});

Deno.test("chat_client.ts prints text that has no newline once the server pauses", async (t) => {
  await t.step("a server that sends text without newlines", async () => {
    await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = server.serve(async (conn) => {
      await conn.write("hello");
      assert.equal(await conn.readLine(), "hi");
      await conn.write("one\r\ntwo\nthr");
      await new Promise((resolve) => setTimeout(resolve, 500));
      await conn.write("ee");
      // Until the client leaves.
      while (await conn.read() !== null);
    });
    await using client = spawnExample("chat_client.ts", [
      "--port",
      String(server.addr.port),
    ]);
    // Shown while the connection is open, without a newline from the server.
    assert.equal(await client.readLine(), "hello");
    await client.write("hi\n");
    assert.equal(await client.readLine(), "one");
    assert.equal(await client.readLine(), "two");
    assert.equal(await client.readLine(), "thr");
    assert.equal(await client.readLine(), "ee");
    const result = await client.finish();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    await server.shutdown();
    await serving;
  });
  await t.step("the tutorial's QQ chat server (Python)", async () => {
    await using qq = spawnExample("qq_chat_server.py", ["127.0.0.1", "0"], {
      command: [
        "python3",
        "-u",
        new URL(
          "../examples/tutorial/python/qq_chat_server.py",
          import.meta.url,
        )
          .pathname,
      ],
    });
    const port = await qq.listeningPort();
    await using client = spawnExample("chat_client.ts", [
      "--port",
      String(port),
    ]);
    await client.write("hello\n");
    await qq.waitForStdout((out) => out.endsWith("send:"), "the prompt");
    await qq.write("你好\n");
    assert.equal(await client.readLine(), "你好");
    const result = await client.finish();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
  });
});

/** Runs `test` in a new temporary directory, and removes it afterwards. */
async function inTempDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function list(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

const FETCH_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write"];

Deno.test("fetch_page.ts refuses to replace a file without --force, as http-fetch does", async () => {
  let requests = 0;
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    await conn.readUntil("\r\n\r\n");
    requests++;
    await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh");
  });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  await inTempDir(async (dir) => {
    const path = `${dir}/page.html`;
    await Deno.writeTextFile(path, "old");
    await using refused = spawnExample("fetch_page.ts", [url, "-o", path], {
      permissions: FETCH_PERMISSIONS,
    });
    const result = await refused.finish();
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assertOneErrorLine(
      result.stderr,
      /^error: Cannot save ".*\/page\.html": the file already exists \(use --force to replace it\)$/,
    );
    // Refused before it asked the server for anything.
    assert.equal(requests, 0);
    assert.equal(await Deno.readTextFile(path), "old");

    await using forced = spawnExample(
      "fetch_page.ts",
      [url, "-o", path, "--force"],
      { permissions: FETCH_PERMISSIONS },
    );
    const replaced = await forced.finish();
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal(await Deno.readTextFile(path), "fresh");
    assert.deepEqual(await list(dir), ["page.html"]);
  });
  await server.shutdown();
  await serving;
});

Deno.test("fetch_page.ts removes its temporary file when stopped mid-download, and exits 130 or 143", async (t) => {
  // Sends the head and part of the body, then stalls.
  await using server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(async (conn) => {
    await conn.readUntil("\r\n\r\n");
    await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    await conn.write(new Uint8Array(1000).fill(120));
    while (await conn.read() !== null);
  });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    await t.step(signal, async () => {
      await inTempDir(async (dir) => {
        await using fetching = spawnExample(
          "fetch_page.ts",
          [url, "-o", "page.html", "--timeout", "60"],
          { permissions: FETCH_PERMISSIONS, cwd: dir },
        );
        // The part of the body is in the hidden temporary file.
        await withTimeout(
          (async () => {
            for (;;) {
              const [name] = await list(dir);
              if (
                name !== undefined &&
                (await Deno.stat(`${dir}/${name}`)).size === 1000
              ) return;
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          })(),
          "the temporary file",
        );
        const result = await fetching.stop(signal);
        assert.equal(result.code, code, result.stderr);
        assertOneErrorLine(
          result.stderr,
          new RegExp(
            `^error: Cannot download "${
              url.replaceAll(".", "\\.")
            }": interrupted$`,
          ),
        );
        assert.deepEqual(await list(dir), []);
      });
    });
  }
  await server.shutdown();
  await serving;
});

Deno.test("demo.ts runs several clients against the greeting server and exits 0", async () => {
  const result = await runExample("demo.ts");
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.match(result.stdout, /^listening on 127\.0\.0\.1:\d+$/m);
  for (const name of ["Ada", "Grace", "Linus", "Margaret", "Ken"]) {
    assert.match(
      result.stdout,
      new RegExp(`^${name} +<- Hello, ${name}!$`, "m"),
    );
  }
  assert.match(result.stdout, /^Ken +<- Server is shutting down, goodbye!$/m);
  assert.match(result.stdout, /^shutdown: 1 drained .*, 0 cut$/m);
});

/** The workers example, as a reader runs it: the parent needs only --allow-run. */
function spawnWorkers(args: string[]): ExampleProcess {
  return spawnExample("workers.ts", args, { permissions: ["--allow-run"] });
}

/** Connects, reads the greeting, and returns the worker's pid. */
async function greetedBy(port: number): Promise<number> {
  await using client = await connect(port);
  const greeting = await line(client, "the greeting");
  const match = /^Hello from worker (\d+)!$/.exec(greeting ?? "");
  assert.ok(match, `greeting: ${JSON.stringify(greeting)}`);
  return Number(match[1]);
}

Deno.test("workers.ts serves one port from several processes, restarts them on SIGHUP with the port open, and stops on SIGTERM", async () => {
  await using parent = spawnWorkers(["--workers", "2", "--port", "0"]);
  const port = await parent.listeningPort();
  const first = (await parent.waitForLine(/^2 workers: /)).slice(11)
    .split(", ").map(Number);
  assert.equal(first.length, 2);

  // The kernel spreads connections over both.
  const seen = new Set<number>();
  for (let i = 0; i < 200 && seen.size < 2; i++) {
    seen.add(await greetedBy(port));
  }
  assert.deepEqual([...seen].sort(), [...first].sort());

  // A client that keeps connecting while the workers are replaced.
  let restarting = true;
  let greeted = 0;
  const lost: string[] = [];
  const failed: string[] = [];
  const load = (async () => {
    while (restarting) {
      let client: TcpClient;
      try {
        client = await connect(port);
      } catch (error) {
        // The port closed, even for a moment.
        failed.push(String(error));
        continue;
      }
      try {
        const greeting = await line(client, "the greeting");
        // One whose accept completed just as its worker began to stop is
        // closed unserved by TcpServer.
        if (greeting === null) lost.push("closed before the greeting");
        else if (/^Hello from worker \d+!$/.test(greeting)) greeted++;
        else failed.push(`greeting: ${greeting}`);
      } catch (error) {
        // What the kernel had queued for a worker as it closed its socket
        // is reset (net.ipv4.tcp_migrate_req=1 hands it on instead).
        if (error instanceof Deno.errors.ConnectionReset) {
          lost.push(String(error));
        } else failed.push(String(error));
      } finally {
        client.close();
      }
      await delay(5);
    }
  })();
  try {
    parent.kill("SIGHUP");
    await parent.waitForLine(/^SIGHUP: restarting 2 workers one at a time$/);
    const replaced = [
      await parent.waitForLine(/^worker \d+ replaced by \d+$/, 20_000),
      await parent.waitForLine(/^worker \d+ replaced by \d+$/, 20_000),
    ].map((text) => text.split(" ").map(Number));
    await parent.waitForLine(/^restarted$/);
    assert.deepEqual(replaced.map(([, old]) => old).sort(), [...first].sort());
    const fresh = replaced.map((words) => words[4]!);

    // The new workers take the traffic.
    seen.clear();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      seen.add(await greetedBy(port));
    }
    assert.deepEqual([...seen].sort(), [...fresh].sort());
  } finally {
    restarting = false;
    await load;
  }
  assert.deepEqual(failed, []);
  assert.ok(greeted > 0);
  assert.ok(
    lost.length <= Math.max(2, greeted / 20),
    `${lost.length} lost, ${greeted} greeted:\n${lost.join("\n")}`,
  );

  const result = await parent.stop("SIGTERM");
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.match(result.stdout, /^SIGTERM: stopping 2 workers/m);
  assert.equal(
    result.stdout.match(/^worker \d+: stopped: /gm)?.length,
    4,
    result.stdout,
  );
  assert.match(result.stdout, /^stopped$/m);
  // The parent waits for its workers: nobody listens any more.
  await assert.rejects(connect(port), Deno.errors.ConnectionRefused);
});

Deno.test("workers.ts says goodbye to connected clients when it stops", async () => {
  await using parent = spawnWorkers(["--workers", "2", "--port", "0"]);
  const port = await parent.listeningPort();
  await using client = await connect(port);
  assert.match((await line(client))!, /^Hello from worker \d+!$/);
  await client.write("ping\n");
  assert.equal(await line(client), "ping");
  const stopping = parent.stop("SIGINT");
  assert.match((await line(client))!, /^Worker \d+ is stopping, goodbye!$/);
  assert.equal(await line(client), null);
  const result = await stopping;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /: stopped: 1 connections closed cleanly, 0 cut$/m,
  );
});

Deno.test("workers.ts reports a port in use and exits 1", async () => {
  await using taken = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  await using parent = spawnWorkers([
    "--workers",
    "2",
    "--port",
    String(taken.addr.port),
  ]);
  const result = await parent.finish();
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(
      `^error: Cannot listen on "127\\.0\\.0\\.1:${taken.addr.port}": address already in use`,
      "im",
    ),
  );
  assert.match(
    result.stderr,
    /^error: Worker \d+ exited with code 1 before listening$/m,
  );
  assert.doesNotMatch(result.stderr, /^\s+at /m);
});

Deno.test("workers.ts prints its usage and version, and rejects a bad --workers", async () => {
  const help = await runExample("workers.ts", ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(
    help.stdout,
    /^Usage: deno run --allow-run examples\/workers\.ts/,
  );
  assert.match(help.stdout, /--workers N/);
  const version = await runExample("workers.ts", ["-V"]);
  assert.equal(version.stdout, `${config.name} ${config.version}\n`);
  for (const bad of ["0", "two", "1000"]) {
    const result = await runExample("workers.ts", ["--workers", bad]);
    assert.equal(result.code, 2);
    assertOneErrorLine(result.stderr, /^error: Invalid --workers /);
  }
});

Deno.test("every example prints its usage for --help and exits 0", async (t) => {
  for (const name of [...EXAMPLES, "fetch_page.ts"]) {
    await t.step(name, async () => {
      const result = await runExample(name, ["--help"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(
          `^Usage: deno run --allow-net (--allow-read --allow-write )?examples/${name}`,
        ),
      );
      assert.match(result.stdout, /--port|--ports/);
      // One unit for every timeout: seconds.
      if (result.stdout.includes("--timeout")) {
        assert.match(result.stdout, /--timeout SECONDS/);
      }
      if (SERVERS.includes(name)) {
        assert.match(
          result.stdout,
          /--hostname HOST {2}Address to listen on \(default: 0\.0\.0\.0\)\n +0\.0\.0\.0: every interface; 127\.0\.0\.1: this machine only\n/,
        );
      }
      assert.equal(result.stderr, "");
    });
  }
});

Deno.test("every example prints the version in deno.json for --version and -V", async (t) => {
  for (const name of [...EXAMPLES, "fetch_page.ts"]) {
    await t.step(name, async () => {
      for (const flag of ["--version", "-V"]) {
        const result = await runExample(name, [flag]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, `${config.name} ${config.version}\n`);
        assert.equal(result.stderr, "");
      }
    });
  }
});

Deno.test("client examples report a refused connection in one line and exit 1", async (t) => {
  const port = closedPort();
  for (const name of CLIENTS) {
    await t.step(name, async () => {
      const result = await runExample(name, ["--port", String(port)]);
      assert.equal(result.code, 1);
      assertOneErrorLine(
        result.stderr,
        new RegExp(
          `^error: Cannot connect to "127\\.0\\.0\\.1:${port}": connection refused`,
        ),
      );
    });
  }
});

Deno.test("examples reject --port abc with one line and exit code 2", async (t) => {
  for (const name of [...SERVERS, ...CLIENTS, "demo.ts", "workers.ts"]) {
    await t.step(name, async () => {
      const result = await runExample(name, [
        "--hostname",
        "127.0.0.1",
        "--port",
        "abc",
      ]);
      assert.equal(result.code, 2);
      assertOneErrorLine(
        result.stderr,
        /^error: Invalid --port "abc": it must be an integer from [01] to 65535$/,
      );
    });
  }
  await t.step("an unknown flag", async () => {
    const result = await runExample("echo_server.ts", ["--prot", "80"]);
    assert.equal(result.code, 2);
    assertOneErrorLine(result.stderr, /^error: Unknown option '--prot'$/);
  });
});

Deno.test("server examples report a port in use in one line and exit 1", async (t) => {
  await using taken = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
  for (const name of SERVERS) {
    await t.step(name, async () => {
      const result = await runExample(name, [
        "--hostname",
        "127.0.0.1",
        "--port",
        String(taken.addr.port),
      ]);
      assert.equal(result.code, 1);
      assertOneErrorLine(
        result.stderr,
        new RegExp(
          `^error: Cannot listen on "127\\.0\\.0\\.1:${taken.addr.port}": address already in use`,
          "i",
        ),
      );
    });
  }
});
