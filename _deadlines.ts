// Copyright 2026 the tcp authors. MIT license.
// Deadlines on connections: how long one may go without progress (an idle
// timeout), and how old it may grow (a maximum age).

/** What a deadline watches: a connection's byte counts. */
export interface Progressing {
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** What {@linkcode Deadlines} enforces, and what it calls when one passes. */
export interface DeadlineOptions<C> {
  /** Calls `onIdle` once a connection makes no progress for this many ms. */
  idleTimeout?: number;
  onIdle?: (conn: C) => void;
  /**
   * Calls `onAge` once a connection is this many ms old, give or take 10%
   * drawn at random per connection, so that connections opened together
   * (a client fleet after a deploy) do not all end together.
   */
  maxAge?: number;
  onAge?: (conn: C) => void;
}

interface Entry {
  progress: number;
  since: number;
  /** When the connection is too old; Infinity once `onAge` was called. */
  expires: number;
}

/** How far a maximum age may move either way for one connection. */
const AGE_JITTER = 0.1;

/**
 * Watches connections for their deadlines with one timer that sweeps them
 * all, rather than a timer per connection reset on each read and write: I/O
 * stays free of timer calls. A deadline is noticed up to a quarter of itself
 * (at most a second) late. The timer runs only while there are connections
 * to watch.
 */
export class Deadlines<C extends Progressing> {
  #options: DeadlineOptions<C>;
  #interval: number;
  #entries = new Map<C, Entry>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: DeadlineOptions<C>) {
    this.#options = options;
    const shortest = Math.min(
      options.idleTimeout ?? Infinity,
      options.maxAge ?? Infinity,
    );
    this.#interval = Math.min(Math.max(shortest / 4, 5), 1000);
  }

  add(conn: C): void {
    const now = Date.now();
    const { maxAge } = this.#options;
    const expires = maxAge === undefined
      ? Infinity
      : now + maxAge * (1 - AGE_JITTER + 2 * AGE_JITTER * Math.random());
    this.#entries.set(conn, {
      progress: progressOf(conn),
      since: now,
      expires,
    });
    this.#timer ??= setInterval(() => this.#sweep(), this.#interval);
  }

  delete(conn: C): void {
    this.#entries.delete(conn);
    if (this.#entries.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #sweep(): void {
    const now = Date.now();
    const { idleTimeout, onIdle, onAge } = this.#options;
    for (const [conn, entry] of this.#entries) {
      if (now >= entry.expires) {
        entry.expires = Infinity;
        onAge?.(conn);
      }
      if (idleTimeout === undefined) continue;
      const progress = progressOf(conn);
      if (progress !== entry.progress) {
        entry.progress = progress;
        entry.since = now;
      } else if (now - entry.since >= idleTimeout) {
        this.delete(conn);
        onIdle?.(conn);
      }
    }
  }
}

function progressOf(conn: Progressing): number {
  return conn.bytesRead + conn.bytesWritten;
}
