// Copyright 2026 the tcp authors. MIT license.
// Node's `net` echo server, for comparison: `socket.pipe(socket)`, which is
// how Node's own docs write one, with Nagle off as in the other servers.
// Prints its port, then serves until killed.

import net from "node:net";

const server = net.createServer({ noDelay: true }, (socket) => {
  // A peer that resets would otherwise crash the process.
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
