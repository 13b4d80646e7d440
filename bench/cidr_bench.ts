// Copyright 2026 the tcp authors. MIT license.
/**
 * What it costs to ask whether a peer is in a list of 1,000 networks, as a
 * server that trusts PROXY headers only from its load balancers does on every
 * accepted connection: `CidrSet.has()` (merged ranges, binary search) against
 * a linear scan over the same networks, the same addresses in the same order.
 * Both parse the address text, as the server must.
 *
 *   deno bench bench/cidr_bench.ts
 *
 * @module
 */

import { CidrSet } from "../_cidr.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../_ip.ts";

/** A deterministic generator: the same networks and addresses every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Network {
  v6: boolean;
  /** IPv4: one word; IPv6: four, most significant first. */
  words: number[];
  prefix: number;
  /** The prefix's mask, word by word. */
  masks: number[];
}

/** The mask of the word whose first bit is bit `32 * w` of a `prefix`: `left = prefix - 32 * w`. */
function wordMask(left: number): number {
  return left >= 32 ? 0xffffffff : left <= 0 ? 0 : ~(0xffffffff >>> left) >>> 0;
}

/** The baseline: every network in turn, masks on 32-bit words. */
class LinearList {
  #networks: Network[];
  constructor(networks: Network[]) {
    this.#networks = networks;
  }
  has(address: string): boolean {
    const v4 = parseIPv4(address);
    let words: number[];
    let v6 = false;
    if (v4 !== undefined) {
      words = [v4];
    } else {
      const bytes = parseIPv6(address);
      if (bytes === undefined) return false;
      const view = new DataView(bytes.buffer);
      words = [0, 4, 8, 12].map((at) => view.getUint32(at));
      v6 = true;
      if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
        words = [words[3]];
        v6 = false;
      }
    }
    for (const network of this.#networks) {
      if (network.v6 !== v6) continue;
      let match = true;
      for (let w = 0; w < words.length; w++) {
        if (((words[w] ^ network.words[w]) & network.masks[w]) !== 0) {
          match = false;
          break;
        }
      }
      if (match) return true;
    }
    return false;
  }
}

const next = random(1);
const word = () => Math.floor(next() * 2 ** 32) >>> 0;

function makeNetworks(count: number): { texts: string[]; networks: Network[] } {
  const texts: string[] = [];
  const networks: Network[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 4 !== 3) {
      const prefix = 16 + Math.floor(next() * 17);
      const mask = ~(0xffffffff >>> prefix) >>> 0;
      const network = (word() & mask) >>> 0;
      texts.push(`${formatIPv4(network)}/${prefix}`);
      networks.push({
        v6: false,
        words: [network],
        prefix,
        masks: [wordMask(prefix)],
      });
    } else {
      const prefix = 32 + Math.floor(next() * 97);
      const words = [0x20010db8, word(), word(), word()];
      for (let w = 0; w < 4; w++) {
        words[w] = (words[w] & wordMask(prefix - 32 * w)) >>> 0;
      }
      const bytes = new Uint8Array(16);
      const view = new DataView(bytes.buffer);
      words.forEach((value, w) => view.setUint32(w * 4, value));
      texts.push(`${formatIPv6(bytes)}/${prefix}`);
      networks.push({
        v6: true,
        words,
        prefix,
        masks: [0, 1, 2, 3].map((w) => wordMask(prefix - 32 * w)),
      });
    }
  }
  return { texts, networks };
}

/** Peers: half inside some network, the rest anywhere; IPv4, mapped, IPv6. */
function makeAddresses(networks: Network[], count: number): string[] {
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const network = networks[Math.floor(next() * networks.length)];
    const inside = i % 2 === 0;
    if (!network.v6) {
      const host = inside
        ? (network.words[0] | (word() & (0xffffffff >>> network.prefix))) >>> 0
        : word();
      addresses.push(
        i % 3 === 0 ? `::ffff:${formatIPv4(host)}` : formatIPv4(host),
      );
    } else {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      if (inside) {
        const view = new DataView(bytes.buffer);
        network.words.forEach((value, w) => {
          const mask = wordMask(network.prefix - 32 * w);
          view.setUint32(
            w * 4,
            (value | (view.getUint32(w * 4) & ~mask)) >>> 0,
          );
        });
      }
      addresses.push(formatIPv6(bytes));
    }
  }
  return addresses;
}

for (const count of [10, 1000]) {
  const { texts, networks } = makeNetworks(count);
  const set = new CidrSet(texts);
  const list = new LinearList(networks);
  const addresses = makeAddresses(networks, 1024);
  for (const address of addresses) {
    if (set.has(address) !== list.has(address)) {
      throw new Error(`The two disagree on "${address}"`);
    }
  }
  let i = 0;
  const group = `${count} networks`;
  Deno.bench({
    name: `linear scan, ${count} networks`,
    group,
    baseline: true,
    fn: () => {
      list.has(addresses[i++ & 1023]);
    },
  });
  Deno.bench({
    name: `CidrSet.has(), ${count} networks`,
    group,
    fn: () => {
      set.has(addresses[i++ & 1023]);
    },
  });
  // The floor both stand on: parsing the text, with no list at all.
  Deno.bench({
    name: `parsing the address alone`,
    group,
    fn: () => {
      const address = addresses[i++ & 1023];
      if (parseIPv4(address) === undefined) parseIPv6(address);
    },
  });
}
