// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import { addressKey, CidrSet } from "../_cidr.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../_ip.ts";

Deno.test("CidrSet matches IPv4 networks and addresses up to their edges", () => {
  const set = new CidrSet(["10.0.0.0/8", "192.168.1.0/24", "127.0.0.1"]);
  for (
    const inside of [
      "10.0.0.0",
      "10.255.255.255",
      "10.1.2.3",
      "192.168.1.0",
      "192.168.1.255",
      "127.0.0.1",
    ]
  ) {
    assert.equal(set.has(inside), true, inside);
  }
  for (
    const outside of [
      "9.255.255.255",
      "11.0.0.0",
      "192.168.0.255",
      "192.168.2.0",
      "127.0.0.0",
      "127.0.0.2",
      "0.0.0.0",
      "255.255.255.255",
    ]
  ) {
    assert.equal(set.has(outside), false, outside);
  }
});

Deno.test("CidrSet matches IPv6 networks and addresses up to their edges", () => {
  const set = new CidrSet(["fd00::/8", "2001:db8:1::/48", "::1"]);
  for (
    const inside of [
      "fd00::",
      "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "fd12:3456::1",
      "2001:db8:1::",
      "2001:db8:1:ffff:ffff:ffff:ffff:ffff",
      "::1",
      "0:0:0:0:0:0:0:1",
    ]
  ) {
    assert.equal(set.has(inside), true, inside);
  }
  for (
    const outside of [
      "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "fe00::",
      "2001:db8:0:ffff:ffff:ffff:ffff:ffff",
      "2001:db8:2::",
      "::",
      "::2",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ]
  ) {
    assert.equal(set.has(outside), false, outside);
  }
});

Deno.test("CidrSet matches IPv4-mapped IPv6 addresses with the IPv4 entries", () => {
  const set = new CidrSet(["10.0.0.0/8"]);
  assert.equal(set.has("::ffff:10.1.2.3"), true);
  assert.equal(set.has("::ffff:a01:203"), true);
  assert.equal(set.has("0:0:0:0:0:ffff:10.1.2.3"), true);
  assert.equal(set.has("::ffff:11.1.2.3"), false);
  // Not mapped: IPv4-compatible and NAT64 addresses are IPv6 addresses.
  assert.equal(set.has("::10.1.2.3"), false);
  assert.equal(set.has("64:ff9b::10.1.2.3"), false);

  // Entries in the mapped form are IPv4 entries.
  const mapped = new CidrSet(["::ffff:10.0.0.0/104", "::ffff:127.0.0.1"]);
  assert.equal(mapped.has("10.9.9.9"), true);
  assert.equal(mapped.has("::ffff:10.9.9.9"), true);
  assert.equal(mapped.has("127.0.0.1"), true);
  assert.equal(mapped.has("11.0.0.0"), false);
  assert.deepEqual(mapped.ranges, { v4: 2, v6: 0 });
  assert.equal(new CidrSet(["::ffff:0:0/96"]).has("203.0.113.9"), true);

  // "Every IPv6 peer" is not every peer.
  const v6 = new CidrSet(["::/0"]);
  assert.equal(v6.has("2001:db8::1"), true);
  assert.equal(v6.has("::ffff:10.1.2.3"), false);
  assert.equal(v6.has("10.1.2.3"), false);
});

Deno.test("CidrSet takes /0 and full-length prefixes", () => {
  const all = new CidrSet(["0.0.0.0/0", "::/0"]);
  for (
    const address of [
      "0.0.0.0",
      "255.255.255.255",
      "::",
      "ffff::1",
      "::ffff:1.2.3.4",
    ]
  ) {
    assert.equal(all.has(address), true, address);
  }
  const one = new CidrSet(["192.0.2.7/32", "2001:db8::7/128"]);
  assert.equal(one.has("192.0.2.7"), true);
  assert.equal(one.has("192.0.2.6"), false);
  assert.equal(one.has("2001:db8::7"), true);
  assert.equal(one.has("2001:db8::8"), false);
});

Deno.test("CidrSet merges overlapping, nested and adjacent networks", () => {
  const set = new CidrSet([
    "10.0.0.0/24",
    "10.0.1.0/24", // adjacent
    "10.0.0.128/25", // nested
    "10.0.0.0/23", // the same again
    "10.0.3.0/24", // a gap at 10.0.2.0/24
    "2001:db8::/33",
    "2001:db8:8000::/33", // adjacent: together 2001:db8::/32
    "255.255.255.255", // the very end
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  ]);
  assert.deepEqual(set.ranges, { v4: 3, v6: 2 });
  assert.equal(set.has("10.0.1.255"), true);
  assert.equal(set.has("10.0.2.0"), false);
  assert.equal(set.has("10.0.3.0"), true);
  assert.equal(set.has("2001:db8:ffff::"), true);
  assert.equal(set.has("255.255.255.255"), true);
  assert.equal(set.has("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), true);
});

Deno.test("CidrSet matches nothing when empty, nor what is not an IP address", () => {
  assert.equal(new CidrSet([]).has("127.0.0.1"), false);
  assert.equal(new CidrSet([]).has("::1"), false);
  const all = new CidrSet(["0.0.0.0/0", "::/0"]);
  for (
    const text of [
      "",
      "localhost",
      "10.0.0.1/32",
      "[::1]",
      "fe80::1%eth0",
      " 10.0.0.1",
      "010.0.0.1",
      "/tmp/sock",
    ]
  ) {
    assert.equal(all.has(text), false, text);
  }
});

Deno.test("CidrSet refuses bad entries, naming them", async (t) => {
  const cases: [unknown, ErrorConstructor, RegExp][] = [
    [42, TypeError, /Invalid CIDR: expected a string, got number$/],
    [null, TypeError, /got null/],
    ["", TypeError, /Invalid CIDR "": "" is not an IPv4 or IPv6 address$/],
    ["localhost", TypeError, /"localhost" is not an IPv4 or IPv6 address/],
    ["10.0.0/8", TypeError, /Invalid CIDR "10.0.0\/8": "10.0.0" is not/],
    ["010.0.0.0/8", TypeError, /"010.0.0.0" is not/],
    [" 10.0.0.0/8", TypeError, /" 10.0.0.0" is not/],
    ["fe80::1%eth0/64", TypeError, /"fe80::1%eth0" is not/],
    ["10.0.0.0/", TypeError, /the prefix length "" is not a decimal number/],
    ["10.0.0.0/08", TypeError, /the prefix length "08"/],
    ["10.0.0.0/8 ", TypeError, /the prefix length "8 "/],
    ["10.0.0.0/8/8", TypeError, /the prefix length "8\/8"/],
    ["10.0.0.0/-1", TypeError, /the prefix length "-1"/],
    [
      "10.0.0.0/33",
      RangeError,
      /Invalid CIDR "10.0.0.0\/33": the prefix length must be at most 32 for IPv4, got 33$/,
    ],
    ["::/129", RangeError, /at most 128 for IPv6, got 129/],
    [
      "10.0.0.1/8",
      RangeError,
      /Invalid CIDR "10.0.0.1\/8": host bits are set \(the network is "10.0.0.0\/8"\)$/,
    ],
    ["192.168.1.1/24", RangeError, /the network is "192.168.1.0\/24"/],
    ["fd00::1/8", RangeError, /the network is "fd00::\/8"/],
    ["2001:db8::1/64", RangeError, /the network is "2001:db8::\/64"/],
    [
      "::ffff:10.0.0.1/104",
      RangeError,
      /the network is "::ffff:10.0.0.0\/104"/,
    ],
    [
      "::ffff:10.0.0.0/95",
      RangeError,
      /IPv4-mapped network needs a prefix length from 96 to 128, got 95/,
    ],
  ];
  for (const [entry, errorClass, pattern] of cases) {
    await t.step(String(entry), () => {
      assert.throws(() => new CidrSet([entry as string]), errorClass);
      assert.throws(() => new CidrSet(["127.0.0.1", entry as string]), pattern);
    });
  }
});

/** A deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

Deno.test("CidrSet agrees with a linear scan on 1,000 random networks", () => {
  const next = random(9);
  const word = () => Math.floor(next() * 2 ** 32);
  // Clustered, so that networks overlap, nest and touch.
  const v4Base = () => (0x0a000000 + Math.floor(next() * 2 ** 24)) >>> 0;
  const entries: string[] = [];
  const reference: { v6: boolean; network: bigint; prefix: number }[] = [];
  for (let i = 0; i < 1000; i++) {
    if (i % 3 !== 2) {
      const prefix = 20 + Math.floor(next() * 13);
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      const network = (v4Base() & mask) >>> 0;
      entries.push(`${formatIPv4(network)}/${prefix}`);
      reference.push({ v6: false, network: BigInt(network), prefix });
    } else {
      const prefix = 40 + Math.floor(next() * 89);
      const value = (0x20010db8n << 96n) | (BigInt(word() & 0xfff) << 80n) |
        (BigInt(word()) << 32n) | BigInt(word());
      const network = value & ~((1n << BigInt(128 - prefix)) - 1n);
      entries.push(`${v6Text(network)}/${prefix}`);
      reference.push({ v6: true, network, prefix });
    }
  }
  const set = new CidrSet(entries);
  const { v4, v6 } = set.ranges;
  assert.ok(v4 + v6 < entries.length, "some networks merged");
  const linear = (v6: boolean, value: bigint) =>
    reference.some((r) => {
      if (r.v6 !== v6) return false;
      const bits = v6 ? 128 : 32;
      return value >> BigInt(bits - r.prefix) ===
        r.network >> BigInt(bits - r.prefix);
    });
  let hits = 0;
  for (let i = 0; i < 10_000; i++) {
    // Near the networks' edges as often as anywhere.
    const near = reference[Math.floor(next() * reference.length)];
    const bits = near.v6 ? 128 : 32;
    const size = 1n << BigInt(bits - near.prefix);
    const offsets = [
      -1n,
      0n,
      size - 1n,
      size,
      BigInt(Math.floor(next() * 1000)),
    ];
    const max = (1n << BigInt(bits)) - 1n;
    let value = near.network + offsets[i % offsets.length];
    if (value < 0n) value = 0n;
    if (value > max) value = max;
    const text = near.v6 ? v6Text(value) : formatIPv4(Number(value));
    const expected = linear(near.v6, value);
    if (expected) hits++;
    assert.equal(set.has(text), expected, text);
    if (!near.v6) {
      assert.equal(set.has(`::ffff:${text}`), expected, `::ffff:${text}`);
    }
  }
  // Both answers came up often enough to mean something.
  assert.ok(hits > 3000 && hits < 7000, `${hits} hits`);
});

function v6Text(value: bigint): string {
  const bytes = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return formatIPv6(bytes);
}

Deno.test("addressKey() keys IPv4 by address and IPv6 by network", () => {
  assert.equal(addressKey("192.0.2.7"), "192.0.2.7");
  assert.equal(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(addressKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(
    addressKey("2001:db8:1:2::9"),
    addressKey("2001:db8:1:2:ffff::1"),
  );
  assert.notEqual(addressKey("2001:db8:1:2::9"), addressKey("2001:db8:1:3::9"));
  assert.equal(
    addressKey("2001:db8:1:2:3:4:5:6", { ipv6PrefixLength: 48 }),
    "2001:db8:1::/48",
  );
  assert.equal(
    addressKey("2001:DB8::1", { ipv6PrefixLength: 128 }),
    "2001:db8::1",
  );
  assert.equal(addressKey("2001:db8::1", { ipv6PrefixLength: 0 }), "::/0");
  assert.equal(addressKey("::1"), "::/64");
});

Deno.test("addressKey() refuses what it cannot key", () => {
  assert.throws(() => addressKey("localhost"), TypeError);
  assert.throws(
    () => addressKey("/tmp/sock"),
    /Cannot key "\/tmp\/sock": not an IP address/,
  );
  for (const ipv6PrefixLength of [-1, 129, 64.5, NaN]) {
    assert.throws(() => addressKey("::1", { ipv6PrefixLength }), RangeError);
  }
});

Deno.test("_ip.ts and CidrSet agree on what an address is", () => {
  for (
    const text of [
      "1.2.3.4",
      "01.2.3.4",
      "::1",
      "::ffff:1.2.3.4",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    const valid = parseIPv4(text) !== undefined ||
      parseIPv6(text) !== undefined;
    assert.equal(new CidrSet(["0.0.0.0/0", "::/0"]).has(text), valid, text);
  }
});
