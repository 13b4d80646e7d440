// Copyright 2026 the tcp authors. MIT license.
// IP address text forms, strict both ways: the PROXY protocol and the CIDR
// lists parse with these, so an address means the same thing to both.

/**
 * Parses a dotted-quad IPv4 address: exactly four decimal numbers 0-255, no
 * leading zeros (`010` could mean octal 8 to other parsers), nothing else.
 *
 * @returns The address as an unsigned 32-bit integer, or `undefined`.
 */
export function parseIPv4(text: string): number | undefined {
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0) return undefined;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + c - 0x30;
      if (++digits > 3 || part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/** Formats an unsigned 32-bit integer as a dotted quad. */
export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${
    value & 0xff
  }`;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * Parses an IPv6 address in the text forms of RFC 4291 section 2.2: eight
 * groups of one to four hex digits, one `::` for one or more zero groups,
 * and a dotted quad (strict, as {@linkcode parseIPv4}) in place of the last
 * two groups. No zone (`%eth0`), no brackets.
 *
 * @returns The 16 bytes of the address, or `undefined`.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n < 2 || n > 45) return undefined;
  const groups = new Array<number>(8);
  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    if (count === 8) return undefined;
    const start = i;
    let value = 0;
    while (i < n && i - start < 5) {
      const digit = hexDigit(text.charCodeAt(i));
      if (digit < 0) break;
      value = value * 16 + digit;
      i++;
    }
    const digits = i - start;
    if (i < n && text.charCodeAt(i) === 0x2e) {
      if (count > 6) return undefined;
      const v4 = parseIPv4(text.slice(start));
      if (v4 === undefined) return undefined;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4) return undefined;
    groups[count++] = value;
    if (i === n) break;
    if (text.charCodeAt(i) !== 0x3a) return undefined;
    if (++i === n) return undefined;
    if (text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return undefined;
      gap = count;
      i++;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return undefined;
  const bytes = new Uint8Array(16);
  const tail = gap < 0 ? 0 : count - gap;
  for (let g = 0; g < count; g++) {
    const at = gap >= 0 && g >= gap ? 8 - tail + g - gap : g;
    bytes[at * 2] = groups[g] >>> 8;
    bytes[at * 2 + 1] = groups[g] & 0xff;
  }
  return bytes;
}

/** Whether 16 address bytes are an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`. */
export function isIPv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Formats 16 bytes as RFC 5952 recommends (lowercase, no leading zeros, the
 * longest run of two or more zero groups as `::`), with an IPv4-mapped
 * address as `::ffff:a.b.c.d`: the way Deno reports addresses in
 * `Deno.NetAddr.hostname`, so the two compare equal.
 */
export function formatIPv6(bytes: Uint8Array): string {
  if (isIPv4Mapped(bytes)) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let g = 0; g < 8;) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && groups[end] === 0) end++;
    if (end - g > bestLength) {
      bestStart = g;
      bestLength = end - g;
    }
    g = end;
  }
  const hex = (from: number, to: number) =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  return bestStart < 0
    ? hex(0, 8)
    : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
