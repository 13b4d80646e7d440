// Copyright 2026 the tcp authors. MIT license.
import type { TcpConnection } from "./connection.ts";

interface Entry {
  progress: number;
  since: number;
}

/**
 * Closes connections that make no read or write progress for `timeout` ms.
 *
 * One timer per watcher sweeps every connection, rather than a timer per
 * connection reset on each read and write: I/O stays free of timer calls, and
 * a connection is closed between `timeout` and `timeout` plus a quarter of it
 * (at most a second) after its last progress. The timer runs only while
 * there are connections to watch.
 */
export class IdleWatcher {
  #timeout: number;
  #onIdle: (conn: TcpConnection) => void;
  #entries = new Map<TcpConnection, Entry>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(timeout: number, onIdle: (conn: TcpConnection) => void) {
    this.#timeout = timeout;
    this.#onIdle = onIdle;
  }

  add(conn: TcpConnection): void {
    this.#entries.set(conn, { progress: progressOf(conn), since: Date.now() });
    if (this.#timer === undefined) {
      const interval = Math.min(Math.max(this.#timeout / 4, 5), 1000);
      this.#timer = setInterval(() => this.#sweep(), interval);
    }
  }

  delete(conn: TcpConnection): void {
    this.#entries.delete(conn);
    if (this.#entries.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [conn, entry] of this.#entries) {
      const progress = progressOf(conn);
      if (progress !== entry.progress) {
        entry.progress = progress;
        entry.since = now;
      } else if (now - entry.since >= this.#timeout) {
        this.delete(conn);
        this.#onIdle(conn);
      }
    }
  }
}

function progressOf(conn: TcpConnection): number {
  return conn.bytesRead + conn.bytesWritten;
}
