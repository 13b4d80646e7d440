// Copyright 2026 the tcp authors. MIT license.
// Who may connect to a server, and how much: allow and deny lists, a cap on
// the connections one client has open, and a rate at which one client may
// open new ones. Decided on the client's real address (a PROXY header's, when
// a trusted balancer sent one), before the handler runs.

import { addressKey, CidrSet } from "./_cidr.ts";

/** Why a connection was refused. */
export type RefusalReason = "deny" | "allow" | "perClient" | "rate";

/** What {@linkcode Admission} enforces. */
export interface AdmissionRules {
  allow?: string[];
  deny?: string[];
  maxPerClient?: number;
  rate?: { perSecond: number; burst: number };
  ipv6Prefix?: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms. */
  at: number;
}

/** Token buckets kept before full ones are dropped: a full one is no bucket. */
const BUCKETS_BEFORE_PRUNING = 4096;

/**
 * Admits or refuses clients, and counts each admitted client's open
 * connections. Keys name one client: an IPv4 address, or an IPv6 network
 * (a /64 by default: one site can use every address in it). A peer without
 * an IP address (a Unix socket's) is one local client, `"local"`, which the
 * lists do not apply to.
 */
export class Admission {
  #allow: CidrSet | undefined;
  #deny: CidrSet | undefined;
  #maxPerClient: number;
  #perSecond: number;
  #burst: number;
  #ipv6Prefix: number;
  #open = new Map<string, number>();
  #buckets = new Map<string, Bucket>();
  #pruneAt = BUCKETS_BEFORE_PRUNING;
  /** Whether any rule is on: without one, admit() need not be called. */
  readonly active: boolean;
  /** Whether admitted connections are counted (and must be released). */
  readonly counting: boolean;

  constructor(rules: AdmissionRules = {}) {
    this.#allow = rules.allow && new CidrSet(rules.allow);
    this.#deny = rules.deny && new CidrSet(rules.deny);
    this.#maxPerClient = rules.maxPerClient ?? Infinity;
    this.#perSecond = rules.rate?.perSecond ?? Infinity;
    this.#burst = rules.rate?.burst ?? Infinity;
    this.#ipv6Prefix = rules.ipv6Prefix ?? 64;
    this.counting = this.#maxPerClient !== Infinity;
    this.active = this.counting || this.#perSecond !== Infinity ||
      this.#allow !== undefined || this.#deny !== undefined;
  }

  /**
   * The key that names the client at `hostname` (`undefined` for a peer
   * without an IP address).
   */
  key(hostname: string | undefined): string {
    if (hostname === undefined) return "local";
    // The runtime's IPv4 text is canonical already: no parse for it.
    return hostname.includes(":")
      ? addressKey(hostname, { ipv6PrefixLength: this.#ipv6Prefix })
      : hostname;
  }

  /**
   * Decides on a new connection from `hostname` (`undefined` for a peer
   * without an IP address).
   *
   * @returns The client's key, counted as one more open connection until
   * {@linkcode Admission.release}; or why the connection is refused.
   */
  admit(hostname: string | undefined): string | { refused: RefusalReason } {
    if (hostname !== undefined) {
      if (this.#deny?.has(hostname)) return DENY;
      if (this.#allow !== undefined && !this.#allow.has(hostname)) {
        return NOT_ALLOWED;
      }
    }
    const key = this.key(hostname);
    const open = this.#open.get(key) ?? 0;
    if (open >= this.#maxPerClient) return PER_CLIENT;
    if (this.#perSecond !== Infinity && !this.#take(key)) return RATE;
    if (this.counting) this.#open.set(key, open + 1);
    return key;
  }

  /** Counts one connection of client `key` as closed. */
  release(key: string): void {
    const open = this.#open.get(key)! - 1;
    if (open === 0) this.#open.delete(key);
    else this.#open.set(key, open);
  }

  /**
   * The `n` clients with the most open connections, most first: from the
   * counts when counting, else from the hostnames given.
   */
  top(
    n: number,
    hostnames: () => Iterable<string | undefined>,
  ): { client: string; connections: number }[] {
    let open = this.#open;
    if (!this.counting) {
      open = new Map();
      for (const hostname of hostnames()) {
        const key = this.key(hostname);
        open.set(key, (open.get(key) ?? 0) + 1);
      }
    }
    return [...open]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([client, connections]) => ({ client, connections }));
  }

  /** Takes a token from client `key`'s bucket, if it has one. */
  #take(key: string): boolean {
    const now = performance.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#pruneAt) this.#prune(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(
        this.#burst,
        bucket.tokens + (now - bucket.at) * this.#perSecond / 1000,
      );
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }

  /**
   * Drops the buckets that have filled up again: a client whose bucket is
   * full is as good as new. Many clients (an IPv6 scan, say) cannot make
   * the map grow without bound, and each prune pays for the growth since
   * the last.
   */
  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      const tokens = bucket.tokens + (now - bucket.at) * this.#perSecond / 1000;
      if (tokens >= this.#burst) this.#buckets.delete(key);
    }
    this.#pruneAt = Math.max(BUCKETS_BEFORE_PRUNING, 2 * this.#buckets.size);
  }
}

const DENY = { refused: "deny" } as const;
const NOT_ALLOWED = { refused: "allow" } as const;
const PER_CLIENT = { refused: "perClient" } as const;
const RATE = { refused: "rate" } as const;
