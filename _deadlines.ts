// Copyright 2026 the tcp authors. MIT license.
// Deadlines on connections: how long one may go without progress (an idle
// timeout), how long a new one may stay silent (a first-byte deadline), how
// long it may take to send its PROXY header, how long a write may make no
// progress (a write-stall deadline), and how old one may grow (a maximum
// age).

/** What a deadline watches: a connection's byte counts, and its writes. */
export interface Progressing {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly writePending: boolean;
}

/** What {@linkcode Deadlines} enforces, and what it calls when one passes. */
export interface DeadlineOptions<C> {
  /** Calls `onIdle` once a connection makes no progress for this many ms. */
  idleTimeout?: number;
  onIdle?: (conn: C) => void;
  /** Calls `onSilent` if a connection has read nothing this many ms after it was added. */
  firstByteTimeout?: number;
  onSilent?: (conn: C) => void;
  /**
   * Calls `onLate` if a connection marked with
   * {@linkcode Deadlines.expectHeader} has not been marked done this many ms
   * after it was added.
   */
  headerTimeout?: number;
  onLate?: (conn: C) => void;
  /** Calls `onWriteStall` once a write has been pending this many ms without a byte going out. */
  writeTimeout?: number;
  onWriteStall?: (conn: C) => void;
  /**
   * Calls `onAge` once a connection is this many ms old, give or take 10%
   * drawn at random per connection, so that connections opened together
   * (a client fleet after a deploy) do not all end together.
   */
  maxAge?: number;
  onAge?: (conn: C) => void;
}

interface Entry {
  /** bytesRead + bytesWritten at the last progress, and when that was. */
  progress: number;
  since: number;
  /** bytesWritten when a pending write was last seen moving, and when. */
  written: number;
  writingSince: number;
  added: number;
  /** A header is expected and not in yet. */
  awaitingHeader: boolean;
  /** When the connection is too old; Infinity once `onAge` was called. */
  expires: number;
}

/** How far a maximum age may move either way for one connection. */
const AGE_JITTER = 0.1;

/**
 * Watches connections for their deadlines with one timer that sweeps them
 * all, rather than a timer per connection reset on each read and write: I/O
 * stays free of timer calls. A deadline is noticed up to a quarter of the
 * shortest one (at most a second) late. The timer runs only while there are
 * connections to watch.
 *
 * The connections are the caller's set, swept as they are. A connection has
 * state here only when a deadline needs it: from the start for the idle,
 * first-byte, header and age deadlines, and for the write-stall deadline
 * alone only while a write is pending. So with only a write-stall deadline
 * (a server's default), an idle connection costs nothing here.
 */
export class Deadlines<C extends Progressing> {
  #options: DeadlineOptions<C>;
  #connections: Set<C>;
  /** Whether a connection needs state from the moment it is added. */
  #tracked: boolean;
  #interval: number;
  #entries = new Map<C, Entry>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param connections The connections to watch: the caller adds to it and
   * removes from it, and calls add() and delete() as it does.
   */
  constructor(connections: Set<C>, options: DeadlineOptions<C>) {
    this.#connections = connections;
    this.#options = options;
    this.#tracked = options.idleTimeout !== undefined ||
      options.firstByteTimeout !== undefined ||
      options.headerTimeout !== undefined || options.maxAge !== undefined;
    const shortest = Math.min(
      options.idleTimeout ?? Infinity,
      options.firstByteTimeout ?? Infinity,
      options.headerTimeout ?? Infinity,
      options.writeTimeout ?? Infinity,
      options.maxAge ?? Infinity,
    );
    this.#interval = Math.min(Math.max(shortest / 4, 5), 1000);
  }

  /** Starts watching `conn`, just added to the set. */
  add(conn: C): void {
    if (this.#tracked) this.#entries.set(conn, this.#entry(conn, Date.now()));
    if (this.#interval !== Infinity && this.#interval > 0) {
      this.#timer ??= setInterval(() => this.#sweep(), this.#interval);
    }
  }

  /** Stops watching `conn`, just removed from the set. */
  delete(conn: C): void {
    this.#entries.delete(conn);
    if (this.#connections.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Marks `conn` as owing a header within `headerTimeout`, or as done. */
  expectHeader(conn: C, expected = true): void {
    const entry = this.#entries.get(conn);
    if (entry !== undefined) entry.awaitingHeader = expected;
  }

  #entry(conn: C, now: number): Entry {
    const { maxAge } = this.#options;
    return {
      progress: conn.bytesRead + conn.bytesWritten,
      since: now,
      written: conn.bytesWritten,
      writingSince: now,
      added: now,
      awaitingHeader: false,
      expires: maxAge === undefined
        ? Infinity
        : now + maxAge * (1 - AGE_JITTER + 2 * AGE_JITTER * Math.random()),
    };
  }

  #sweep(): void {
    const now = Date.now();
    const o = this.#options;
    for (const conn of this.#connections) {
      let entry = this.#entries.get(conn);
      if (entry === undefined) {
        // Watched only for stalled writes: state only while one is pending.
        if (o.writeTimeout === undefined || !conn.writePending) continue;
        entry = this.#entry(conn, now);
        this.#entries.set(conn, entry);
      }
      if (this.#expired(conn, entry, now)) this.#entries.delete(conn);
      else if (!this.#tracked && !conn.writePending) this.#entries.delete(conn);
    }
  }

  /** Calls what a deadline of `conn`'s says, if one has passed. */
  #expired(conn: C, entry: Entry, now: number): boolean {
    const o = this.#options;
    if (now >= entry.expires) {
      entry.expires = Infinity;
      o.onAge?.(conn);
    }
    if (entry.awaitingHeader && now - entry.added >= o.headerTimeout!) {
      o.onLate?.(conn);
      return true;
    }
    const read = conn.bytesRead;
    const written = conn.bytesWritten;
    if (
      o.firstByteTimeout !== undefined && read === 0 &&
      now - entry.added >= o.firstByteTimeout
    ) {
      o.onSilent?.(conn);
      return true;
    }
    if (o.writeTimeout !== undefined) {
      if (!conn.writePending || written !== entry.written) {
        entry.written = written;
        entry.writingSince = now;
      } else if (now - entry.writingSince >= o.writeTimeout) {
        o.onWriteStall?.(conn);
        return true;
      }
    }
    if (o.idleTimeout !== undefined) {
      const progress = read + written;
      if (progress !== entry.progress) {
        entry.progress = progress;
        entry.since = now;
      } else if (now - entry.since >= o.idleTimeout) {
        o.onIdle?.(conn);
        return true;
      }
    }
    return false;
  }
}
