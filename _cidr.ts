// Copyright 2026 the tcp authors. MIT license.
// Address lists: which peers may send a PROXY header, and per-client keys for
// connection caps. Internal; the server's options will take the lists.

import {
  formatIPv4,
  formatIPv6,
  isIPv4Mapped,
  parseIPv4,
  parseIPv6,
} from "./_ip.ts";

/** An address as numbers: IPv4 as one 32-bit word, IPv6 as four. */
type Parsed =
  | { v4: number; v6?: undefined }
  | { v4?: undefined; v6: Uint32Array };

/**
 * Parses an address, an IPv4-mapped IPv6 one (`::ffff:a.b.c.d`, what a
 * dual-stack listener reports for an IPv4 peer) as the IPv4 address it is.
 */
function parseAddress(text: string): Parsed | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { v4 };
  const bytes = parseIPv6(text);
  if (bytes === undefined) return undefined;
  const view = new DataView(bytes.buffer);
  if (isIPv4Mapped(bytes)) return { v4: view.getUint32(12) };
  return {
    v6: Uint32Array.of(
      view.getUint32(0),
      view.getUint32(4),
      view.getUint32(8),
      view.getUint32(12),
    ),
  };
}

function toBigInt(words: Uint32Array): bigint {
  return (BigInt(words[0]) << 96n) | (BigInt(words[1]) << 64n) |
    (BigInt(words[2]) << 32n) | BigInt(words[3]);
}

/**
 * Sorts ranges and merges the ones that overlap or touch (`next` is one past
 * an end).
 */
function merge<T extends number | bigint>(
  ranges: [T, T][],
  next: (end: T) => T,
): [T, T][] {
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [T, T][] = [];
  for (const [start, end] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && start <= next(last[1])) {
      if (end > last[1]) last[1] = end;
    } else {
      merged.push([start, end]);
    }
  }
  return merged;
}

/**
 * A set of IPv4 and IPv6 networks (`"10.0.0.0/8"`, `"fd00::/8"`) and single
 * addresses (`"127.0.0.1"`, `"::1"`), to ask whether an address is in one.
 *
 * The networks are merged into sorted, disjoint ranges, one list per family,
 * and a lookup is a binary search: about 10 steps for 1,000 entries, whose
 * cost is dominated by parsing the address text.
 *
 * An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is an IPv4 address: it
 * matches IPv4 entries, and entries written in the mapped form
 * (`::ffff:10.0.0.0/104`, prefix 96 or more) are read as IPv4 ones. An IPv6
 * entry that merely contains the mapped range, such as `::/0`, does not
 * match IPv4 peers: it says "every IPv6 peer".
 *
 * A network with host bits set (`10.0.0.1/8`) is refused rather than
 * masked: it is usually a typo for another network or a single address, and
 * guessing would widen a trust list silently.
 */
export class CidrSet {
  #v4Starts: Uint32Array;
  #v4Ends: Uint32Array;
  /** Four words per range, most significant first. */
  #v6Starts: Uint32Array;
  #v6Ends: Uint32Array;

  /**
   * @param entries Networks in CIDR notation and single addresses.
   * @throws {TypeError} If an entry is not a string, its address is not an
   * IPv4 or IPv6 address, or its prefix length is not a decimal number.
   * @throws {RangeError} If a prefix length is too long for the family or a
   * network has host bits set.
   */
  constructor(entries: Iterable<string>) {
    const v4: [number, number][] = [];
    const v6: [bigint, bigint][] = [];
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      if (parsed.family === 4) v4.push([parsed.start, parsed.end]);
      else v6.push([parsed.start, parsed.end]);
    }
    const mergedV4 = merge(v4, (end) => end + 1);
    this.#v4Starts = Uint32Array.from(mergedV4, (r) => r[0]);
    this.#v4Ends = Uint32Array.from(mergedV4, (r) => r[1]);
    const mergedV6 = merge(v6, (end) => end + 1n);
    this.#v6Starts = new Uint32Array(mergedV6.length * 4);
    this.#v6Ends = new Uint32Array(mergedV6.length * 4);
    mergedV6.forEach(([start, end], i) => {
      for (let w = 0; w < 4; w++) {
        const shift = BigInt(96 - 32 * w);
        this.#v6Starts[i * 4 + w] = Number((start >> shift) & 0xffffffffn);
        this.#v6Ends[i * 4 + w] = Number((end >> shift) & 0xffffffffn);
      }
    });
  }

  /** How many disjoint ranges the entries merged into, per family. */
  get ranges(): { v4: number; v6: number } {
    return { v4: this.#v4Starts.length, v6: this.#v6Starts.length / 4 };
  }

  /**
   * Whether `address` is in one of the networks.
   *
   * @param address An IPv4 or IPv6 address as `Deno.NetAddr.hostname` has it.
   * @returns `false` for anything that is not an IP address.
   */
  has(address: string): boolean {
    const parsed = parseAddress(address);
    if (parsed === undefined) return false;
    if (parsed.v6 === undefined) {
      const starts = this.#v4Starts;
      // The last range that starts at or before the address.
      let low = 0;
      let high = starts.length - 1;
      while (low <= high) {
        const mid = (low + high) >>> 1;
        if (starts[mid] <= parsed.v4) low = mid + 1;
        else high = mid - 1;
      }
      return high >= 0 && parsed.v4 <= this.#v4Ends[high];
    }
    const words = parsed.v6;
    const starts = this.#v6Starts;
    let low = 0;
    let high = starts.length / 4 - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (compare(starts, mid * 4, words) <= 0) low = mid + 1;
      else high = mid - 1;
    }
    return high >= 0 && compare(this.#v6Ends, high * 4, words) >= 0;
  }
}

/** Compares four words at `table[at]` with `words`: negative, 0 or positive. */
function compare(table: Uint32Array, at: number, words: Uint32Array): number {
  for (let w = 0; w < 4; w++) {
    const d = table[at + w] - words[w];
    if (d !== 0) return d;
  }
  return 0;
}

type Entry =
  | { family: 4; start: number; end: number }
  | { family: 6; start: bigint; end: bigint };

function parseEntry(entry: unknown): Entry {
  if (typeof entry !== "string") {
    throw new TypeError(
      `Invalid CIDR: expected a string, got ${
        entry === null ? "null" : typeof entry
      }`,
    );
  }
  const slash = entry.indexOf("/");
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const address = parseAddress(addressText);
  if (address === undefined) {
    throw new TypeError(
      `Invalid CIDR "${entry}": "${addressText}" is not an IPv4 or IPv6 address`,
    );
  }
  const mapped = address.v6 === undefined &&
    parseIPv4(addressText) === undefined;
  const bits = address.v6 === undefined ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = entry.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
      throw new TypeError(
        `Invalid CIDR "${entry}": the prefix length "${prefixText}" is not a decimal number`,
      );
    }
    prefix = Number(prefixText);
    // A mapped network counts its prefix over 128 bits, 96 of them fixed.
    if (mapped) {
      if (prefix < 96 || prefix > 128) {
        throw new RangeError(
          `Invalid CIDR "${entry}": an IPv4-mapped network needs a prefix length from 96 to 128, got ${prefix}`,
        );
      }
      prefix -= 96;
    } else if (prefix > bits) {
      throw new RangeError(
        `Invalid CIDR "${entry}": the prefix length must be at most ${bits} for IPv${
          bits === 32 ? 4 : 6
        }, got ${prefix}`,
      );
    }
  }
  if (address.v6 === undefined) {
    const hostMask = prefix === 0 ? 0xffffffff : (2 ** (32 - prefix)) - 1;
    const start = (address.v4 & ~hostMask) >>> 0;
    if (start !== address.v4) {
      const network = mapped
        ? `::ffff:${formatIPv4(start)}/${prefix + 96}`
        : `${formatIPv4(start)}/${prefix}`;
      throw hostBits(entry, network);
    }
    return { family: 4, start, end: start + hostMask };
  }
  const value = toBigInt(address.v6);
  const hostMask = (1n << BigInt(128 - prefix)) - 1n;
  const start = value & ~hostMask;
  if (start !== value) throw hostBits(entry, `${formatV6(start)}/${prefix}`);
  return { family: 6, start, end: start | hostMask };
}

function hostBits(entry: string, network: string): RangeError {
  return new RangeError(
    `Invalid CIDR "${entry}": host bits are set (the network is "${network}")`,
  );
}

function formatV6(value: bigint): string {
  const bytes = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return formatIPv6(bytes);
}

/** Options for {@linkcode addressKey}. */
export interface AddressKeyOptions {
  /**
   * How many leading bits of an IPv6 address name one client: a site gets
   * a /64 or more, and can use every address in it.
   *
   * @default {64}
   */
  ipv6PrefixLength?: number;
}

/**
 * A key that names one client, to count its connections: an IPv4 address
 * as it is (an IPv4-mapped one as IPv4), an IPv6 one as its network
 * (`2001:db8:1:2::/64`), since one client can pick any address in its
 * prefix.
 *
 * @throws {TypeError} If `address` is not an IP address.
 * @throws {RangeError} If the prefix length is not an integer from 0 to 128.
 */
export function addressKey(
  address: string,
  options: AddressKeyOptions = {},
): string {
  const prefix = options.ipv6PrefixLength ?? 64;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) {
    throw new RangeError(
      `Invalid ipv6PrefixLength: expected an integer from 0 to 128, got ${prefix}`,
    );
  }
  const parsed = parseAddress(address);
  if (parsed === undefined) {
    throw new TypeError(`Cannot key "${address}": not an IP address`);
  }
  if (parsed.v6 === undefined) return formatIPv4(parsed.v4);
  if (prefix === 128) return formatV6(toBigInt(parsed.v6));
  const hostMask = (1n << BigInt(128 - prefix)) - 1n;
  return `${formatV6(toBigInt(parsed.v6) & ~hostMask)}/${prefix}`;
}
