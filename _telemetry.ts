// Copyright 2026 the tcp authors. MIT license.
// A server's counters as OpenTelemetry metrics, through Deno's built-in
// exporter (`OTEL_DENO=true`), with no dependency. The instruments are
// observable: read from stats() when the exporter collects, so a server pays
// nothing per connection for them, and nothing at all when it is off.

import { NAME, VERSION } from "./_version.ts";

/** What a server reports; see ServerStats in server.ts. */
export interface Counters {
  accepted: number;
  active: number;
  refused: Record<string, number>;
  closed: Record<string, number>;
  handlerErrors: number;
  bytesRead: number;
  bytesWritten: number;
}

// Deno.telemetry's meter API, as far as it is used here (the OpenTelemetry
// API's shapes).
interface Observer {
  observe(instrument: unknown, value: number, attributes?: object): void;
}
interface Meter {
  createObservableCounter(name: string, options?: object): unknown;
  createObservableUpDownCounter(name: string, options?: object): unknown;
  addBatchObservableCallback(
    callback: (observer: Observer) => void,
    instruments: unknown[],
  ): void;
  removeBatchObservableCallback(
    callback: (observer: Observer) => void,
    instruments: unknown[],
  ): void;
}

interface Instruments {
  accepted: unknown;
  active: unknown;
  refused: unknown;
  closed: unknown;
  handlerErrors: unknown;
  io: unknown;
}

/** The instruments, made once per process; `null` when telemetry is off. */
let instruments: { meter: Meter; all: Instruments } | null | undefined;

function setUp(): { meter: Meter; all: Instruments } | null {
  if (instruments !== undefined) return instruments;
  instruments = null;
  try {
    const provider = (Deno as unknown as {
      telemetry?: { meterProvider?: { getMeter(n: string, v: string): Meter } };
    }).telemetry?.meterProvider;
    // Throws unless the process runs with OTEL_DENO=true.
    const meter = provider?.getMeter(NAME, VERSION);
    if (meter === undefined) return null;
    const prefix = "netkit.tcp.server";
    instruments = {
      meter,
      all: {
        accepted: meter.createObservableCounter(
          `${prefix}.connections.accepted`,
          { description: "Connections accepted", unit: "{connection}" },
        ),
        active: meter.createObservableUpDownCounter(
          `${prefix}.connections.active`,
          { description: "Connections open now", unit: "{connection}" },
        ),
        refused: meter.createObservableCounter(
          `${prefix}.connections.refused`,
          {
            description: "Connections refused by the admission rules",
            unit: "{connection}",
          },
        ),
        closed: meter.createObservableCounter(
          `${prefix}.connections.closed`,
          {
            description: "Connections the server ended itself, by reason",
            unit: "{connection}",
          },
        ),
        handlerErrors: meter.createObservableCounter(
          `${prefix}.handler.errors`,
          { description: "Handler failures reported", unit: "{error}" },
        ),
        io: meter.createObservableCounter(`${prefix}.io`, {
          description: "Bytes received and sent",
          unit: "By",
        }),
      },
    };
  } catch {
    instruments = null;
  }
  return instruments;
}

/**
 * Exports `read()`'s counters as metrics of the server at `address`, until
 * disposed; does nothing when Deno's telemetry is off.
 */
export function exportMetrics(
  address: string,
  read: () => Counters,
): Disposable {
  const set = setUp();
  if (set === null) return { [Symbol.dispose]() {} };
  const { meter, all } = set;
  const base = { "server.address": address };
  const callback = (observer: Observer) => {
    const c = read();
    observer.observe(all.accepted, c.accepted, base);
    observer.observe(all.active, c.active, base);
    for (const [reason, n] of Object.entries(c.refused)) {
      observer.observe(all.refused, n, { ...base, reason });
    }
    for (const [reason, n] of Object.entries(c.closed)) {
      observer.observe(all.closed, n, { ...base, reason });
    }
    observer.observe(all.handlerErrors, c.handlerErrors, base);
    observer.observe(all.io, c.bytesRead, { ...base, direction: "receive" });
    observer.observe(all.io, c.bytesWritten, {
      ...base,
      direction: "transmit",
    });
  };
  const list = Object.values(all);
  meter.addBatchObservableCallback(callback, list);
  return {
    [Symbol.dispose]() {
      meter.removeBatchObservableCallback(callback, list);
    },
  };
}
