// Copyright 2026 the tcp authors. MIT license.
// The README's server, run as the README shows it: only its port (0, read
// back from what it prints), its hostname (loopback) and the import (this
// checkout) are changed.
import assert from "node:assert/strict";
import { TcpClient } from "../mod.ts";

const README = new URL("../README.md", import.meta.url);
const MOD = new URL("../mod.ts", import.meta.url).href;

/** The README's code block that follows `heading`, as a runnable script. */
async function readmeServer(): Promise<string> {
  const text = await Deno.readTextFile(README);
  const start = text.indexOf("A server that greets each client");
  const code = text.slice(start).match(/```ts ignore\n([\s\S]*?)```/)?.[1];
  assert.ok(code, "the README's server block was not found");
  const script = code
    .replace('from "@netkit/tcp"', `from "${MOD}"`)
    .replace("{ port: 8001,", '{ hostname: "127.0.0.1", port: 0,');
  assert.notEqual(script, code);
  assert.match(script, /port: 0,/);
  return script;
}

/** Starts the README's server; resolves with the process and its port. */
async function startServer(): Promise<
  { child: Deno.ChildProcess; port: number } & AsyncDisposable
> {
  const path = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(path, await readmeServer());
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", path],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
  }
  lines.releaseLock();
  const port = Number(text.match(/^listening on 127\.0\.0\.1:(\d+)$/m)?.[1]);
  assert.ok(port > 0, `no port in ${JSON.stringify(text)}`);
  return {
    child,
    port,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.stdout.cancel().catch(() => {});
      await child.status;
      await Deno.remove(path);
    },
  };
}

/** Waits up to `ms` for the process to exit; `undefined` if it has not. */
async function exitWithin(
  child: Deno.ChildProcess,
  ms: number,
): Promise<Deno.CommandStatus | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([child.status, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("README's server exits within milliseconds of Ctrl-C when its clients are idle", async () => {
  await using server = await startServer();
  const clients = await Promise.all([1, 2, 3].map(async (i) => {
    const client = await TcpClient.connect({ port: server.port });
    assert.equal(await client.readLine(), "Welcome!");
    await client.write(`Ada ${i}\n`);
    assert.equal(await client.readLine(), `Hello, Ada ${i}!`);
    return client;
  }));
  try {
    // All three now wait in lines() for their next line.
    const start = performance.now();
    server.child.kill("SIGINT");
    const status = await exitWithin(server.child, 1000);
    const elapsed = performance.now() - start;
    assert.ok(status, "still running a second after Ctrl-C");
    assert.equal(status.code, 0);
    // Process exit included; the shutdown itself takes a few milliseconds.
    assert.ok(elapsed < 500, `exited ${elapsed.toFixed(0)} ms after Ctrl-C`);
    for (const client of clients) assert.equal(await client.read(), null);
  } finally {
    for (const client of clients) client.close();
  }
});

Deno.test("README's server stops at once on a second Ctrl-C", async () => {
  await using server = await startServer();
  await using client = await TcpClient.connect({ port: server.port });
  assert.equal(await client.readLine(), "Welcome!");
  // A client that sends without reading the replies: the handler ends up
  // blocked in a write, which a graceful shutdown lets finish.
  const line = new TextEncoder().encode("x".repeat(1000) + "\n");
  const flood = new Uint8Array(line.length * 20_000);
  for (let i = 0; i < 20_000; i++) flood.set(line, i * line.length);
  const writing = client.write(flood).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 300));
  server.child.kill("SIGINT");
  assert.equal(await exitWithin(server.child, 300), undefined);
  server.child.kill("SIGINT");
  const status = await exitWithin(server.child, 1000);
  assert.ok(status, "still running a second after the second Ctrl-C");
  assert.equal(status.code, 130);
  client.close();
  await writing;
});
