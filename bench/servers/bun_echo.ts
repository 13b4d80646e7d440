// Copyright 2026 the tcp authors. MIT license.
/**
 * Bun's echo server, for comparison: `Bun.listen` with a `data` callback
 * that writes each chunk back, holding what the socket did not take and
 * pausing reads until `drain` (without that, a bulk echo would buffer
 * without bound), with Nagle off as in the other servers. With `--tls`, the
 * same over TLS with tests/testdata's certificate. Run with Bun, not Deno;
 * prints its port, then serves until killed.
 *
 *   bun bun_echo.ts [--tls]
 *
 * @module
 */

/** The little of Bun's API this file uses (Deno type-checks it too). */
interface BunSocket {
  data: { pending?: Uint8Array };
  write(data: Uint8Array): number;
  pause(): void;
  resume(): void;
  setNoDelay(on: boolean): void;
}
declare const Bun: {
  listen(options: {
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    socket: {
      open(socket: BunSocket): void;
      data(socket: BunSocket, chunk: Uint8Array): void;
      drain(socket: BunSocket): void;
      error(socket: BunSocket, error: Error): void;
    };
  }): { port: number };
  file(path: URL): { text(): Promise<string> };
};
declare const process: { argv: string[] };

const testdata = new URL("../../tests/testdata/", import.meta.url);
const tls = process.argv.includes("--tls")
  ? {
    cert: await Bun.file(new URL("cert.pem", testdata)).text(),
    key: await Bun.file(new URL("key.pem", testdata)).text(),
  }
  : undefined;

/** Writes what it can; keeps the rest, and stops reading, until `drain`. */
function send(socket: BunSocket, bytes: Uint8Array): void {
  const n = socket.write(bytes);
  if (n >= bytes.length) {
    if (socket.data.pending !== undefined) {
      socket.data.pending = undefined;
      socket.resume();
    }
    return;
  }
  // A copy: the runtime may reuse the chunk's memory after the callback.
  socket.data.pending = bytes.slice(Math.max(n, 0));
  socket.pause();
}

const listener = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  tls,
  socket: {
    open(socket) {
      socket.data = {};
      socket.setNoDelay(true);
    },
    data(socket, chunk) {
      const pending = socket.data.pending;
      if (pending === undefined) return send(socket, chunk);
      // Bytes read before the pause took effect queue behind the rest.
      const both = new Uint8Array(pending.length + chunk.length);
      both.set(pending);
      both.set(chunk, pending.length);
      socket.data.pending = both;
    },
    drain(socket) {
      const pending = socket.data.pending;
      if (pending !== undefined) send(socket, pending);
    },
    error() {
      // A peer that resets ends the echo; nothing to report.
    },
  },
});
console.log(listener.port);
