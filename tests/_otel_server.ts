// Copyright 2026 the tcp authors. MIT license.
// A server for the telemetry test, run with OTEL_DENO=true: it serves one
// client, waits for the exporter to collect, and stops.
import { TcpClient, TcpServer } from "../mod.ts";

const server = TcpServer.listen({ hostname: "127.0.0.1", port: 0 });
const serving = server.serve((conn) => conn.write("hi\n"));
const client = await TcpClient.connect({ port: server.addr.port });
await client.readLine();
client.close();
await new Promise((resolve) => setTimeout(resolve, Number(Deno.args[0])));
await server.shutdown();
await serving;
