// Copyright 2026 the tcp authors. MIT license.
// Node's `net` echo server, for comparison: `socket.pipe(socket)`, which is
// how Node's own docs write one, with Nagle off as in the other servers.
// With --tls, the same over the `tls` module with tests/testdata's
// certificate. Prints its port, then serves until killed.

import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const echo = (socket) => {
  // A peer that resets would otherwise crash the process.
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
};
const testdata = new URL("../../tests/testdata/", import.meta.url);
const server = process.argv.includes("--tls")
  ? tls.createServer({
    cert: readFileSync(new URL("cert.pem", testdata)),
    key: readFileSync(new URL("key.pem", testdata)),
  }, (socket) => {
    socket.setNoDelay(true);
    echo(socket);
  })
  : net.createServer({ noDelay: true }, echo);
// A handshake the peer resets is reported here, not on a socket.
server.on("tlsClientError", () => {});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
