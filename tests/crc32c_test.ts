// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import { crc32c } from "../_crc32c.ts";

/** The definition, one bit at a time: the reference the tables must match. */
function bitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
  }
  return ~crc >>> 0;
}

Deno.test("crc32c() matches the RFC 3720 B.4 test vectors", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(
    crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)),
    0x46dd794e,
  );
  assert.equal(
    crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)),
    0x113fdb5c,
  );
  // An iSCSI SCSI Read (10) command PDU.
  const read = new Uint8Array(48);
  read.set([0x01, 0xc0], 0);
  read.set([0x14], 16);
  read.set([0x04], 22);
  read.set([0x14], 27);
  read.set([0x18], 31);
  read.set([0x28], 32);
  read.set([0x02], 40);
  assert.equal(crc32c(read), 0xd9963a56);
});

Deno.test("crc32c() gives the catalogue check value for 123456789", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

Deno.test("crc32c() of nothing is 0", () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

Deno.test("crc32c() agrees with the bitwise definition at every length and alignment", () => {
  const data = crypto.getRandomValues(new Uint8Array(300));
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= data.length; end += end < 40 ? 1 : 37) {
      const piece = data.subarray(start, end);
      assert.equal(crc32c(piece), bitwise(piece), `bytes ${start}..${end}`);
    }
  }
});

Deno.test("crc32c() continues a checksum over several pieces", () => {
  const data = crypto.getRandomValues(new Uint8Array(100));
  const whole = crc32c(data);
  for (const cut of [0, 1, 7, 8, 9, 50, 99, 100]) {
    assert.equal(
      crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))),
      whole,
      `cut at ${cut}`,
    );
  }
});
