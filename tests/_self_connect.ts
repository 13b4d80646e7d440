// Copyright 2026 the tcp authors. MIT license.
// Run in a fresh network namespace whose only ephemeral port is PORT, where a
// connect to 127.0.0.1:PORT (nothing listens there) can only be answered by
// the connecting socket itself. Prints what `Deno.connect` ("raw") or
// `TcpClient.connect` ("client") makes of it.
import { TcpClient } from "../mod.ts";

const [mode, portText] = Deno.args;
const port = Number(portText);
try {
  if (mode === "raw") {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const local = conn.localAddr as Deno.NetAddr;
    console.log(`connected from ${local.hostname}:${local.port}`);
  } else {
    using conn = await TcpClient.connect({ port });
    console.log(
      `connected from ${conn.localAddr.hostname}:${conn.localAddr.port}`,
    );
  }
} catch (error) {
  console.log(`${(error as Error).name}: ${(error as Error).message}`);
}
