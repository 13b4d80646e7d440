// Copyright 2026 the tcp authors. MIT license.
// TcpServer's counters as OpenTelemetry metrics through Deno's own exporter:
// a server process with OTEL_DENO=true sends them to a collector the test
// plays on 127.0.0.1.
import assert from "node:assert/strict";

interface DataPoint {
  asInt?: string | number;
  asDouble?: number;
  attributes?: { key: string; value: { stringValue?: string } }[];
}
interface Metric {
  name: string;
  sum?: { dataPoints: DataPoint[] };
}

Deno.test("TcpServer exports its counters as metrics when Deno's OpenTelemetry is on", async () => {
  const bodies: string[] = [];
  await using collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      bodies.push(await request.text());
      return new Response("{}", {
        headers: { "content-type": "application/json" },
      });
    },
  );
  const script = new URL("./_otel_server.ts", import.meta.url).pathname;
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", script, "600"],
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_METRIC_EXPORT_INTERVAL: "100",
    },
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  const metrics: Metric[] = bodies.flatMap((body) =>
    JSON.parse(body).resourceMetrics?.flatMap((r: {
      scopeMetrics: { scope: { name: string }; metrics: Metric[] }[];
    }) =>
      r.scopeMetrics
        .filter((s) => s.scope.name === "@netkit/tcp")
        .flatMap((s) => s.metrics)
    ) ?? []
  );
  const last = (name: string) => {
    const points = metrics.filter((m) => m.name === name)
      .flatMap((m) => m.sum?.dataPoints ?? []);
    return points.at(-1);
  };
  const value = (point: DataPoint | undefined) =>
    Number(point?.asInt ?? point?.asDouble);
  const accepted = last("netkit.tcp.server.connections.accepted");
  assert.ok(accepted, `no accepted metric in ${bodies.length} exports`);
  assert.equal(value(accepted), 1);
  assert.match(
    accepted.attributes?.find((a) => a.key === "server.address")?.value
      .stringValue ?? "",
    /^127\.0\.0\.1:\d+$/,
  );
  assert.equal(
    value(last("netkit.tcp.server.connections.active")),
    0,
  );
  const io = metrics.filter((m) => m.name === "netkit.tcp.server.io")
    .flatMap((m) => m.sum?.dataPoints ?? []);
  assert.ok(
    io.some((p) =>
      value(p) === 3 &&
      p.attributes?.some((a) => a.value.stringValue === "transmit")
    ),
  );
});
