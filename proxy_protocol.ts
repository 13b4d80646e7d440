// Copyright 2026 the tcp authors. MIT license.
/**
 * The PROXY protocol of HAProxy, versions 1 (text) and 2 (binary): the
 * header a load balancer puts in front of a TCP connection to say whom it
 * relays, so that the server behind it sees the client's address instead of
 * the balancer's. Decoding is strict, as the specification asks (HAProxy's
 * `doc/proxy-protocol.txt`), and incremental: feed it the bytes read so far
 * and it says how many more it needs, or throws as soon as they cannot be a
 * header. Encoding makes the same headers, so a client can play the
 * balancer.
 *
 * ```ts
 * import {
 *   decodeProxyHeader,
 *   encodeProxyHeader,
 * } from "@netkit/tcp/proxy-protocol";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeProxyHeader({
 *   version: 2,
 *   command: "PROXY",
 *   source: { transport: "tcp", hostname: "203.0.113.7", port: 51234 },
 *   destination: { transport: "tcp", hostname: "192.0.2.1", port: 443 },
 *   tlvs: { authority: "example.com" },
 * });
 *
 * const result = decodeProxyHeader(bytes);
 * assert.ok(result.done);
 * assert.equal(result.length, bytes.length);
 * assert.deepEqual(result.header.source, {
 *   transport: "tcp",
 *   hostname: "203.0.113.7",
 *   port: 51234,
 * });
 * assert.equal(result.header.tlvs?.authority, "example.com");
 * ```
 *
 * Only accept the header from proxies you trust, and require it on every
 * connection of a listener that expects it: whoever may send it chooses the
 * address you see.
 *
 * @module
 */

import { crc32c } from "./_crc32c.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./_ip.ts";

/** Why a v2 header may be 4 KiB by default: see DecodeProxyHeaderOptions. */
const DEFAULT_MAX_LENGTH = 4096;
/** The longest v1 line, CRLF included (section 2.1). */
const V1_MAX_LENGTH = 107;
/** The shortest v1 line, `PROXY UNKNOWN\r\n`. */
const V1_MIN_LENGTH = 15;
const V2_FIXED_LENGTH = 16;
const V2_MAX_LENGTH = V2_FIXED_LENGTH + 0xffff;
const V2_SIGNATURE = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);
const UNIX_PATH_LENGTH = 108;
const UNIQUE_ID_MAX_LENGTH = 128;

const TYPE_ALPN = 0x01;
const TYPE_AUTHORITY = 0x02;
const TYPE_CRC32C = 0x03;
const TYPE_UNIQUE_ID = 0x05;
const TYPE_SSL = 0x20;
const TYPE_NETNS = 0x30;
const SUBTYPE_SSL_VERSION = 0x21;
const SUBTYPE_SSL_CN = 0x22;
const SUBTYPE_SSL_CIPHER = 0x23;
const SUBTYPE_SSL_SIG_ALG = 0x24;
const SUBTYPE_SSL_KEY_ALG = 0x25;
const SUBTYPE_SSL_GROUP = 0x26;
const SUBTYPE_SSL_SIG_SCHEME = 0x27;
const SUBTYPE_SSL_CLIENT_CERT = 0x28;

/** The TLVs with a field of their own in {@linkcode ProxyTlvs}. */
const NAMED_TYPES = new Map<number, string>([
  [TYPE_ALPN, "ALPN"],
  [TYPE_AUTHORITY, "AUTHORITY"],
  [TYPE_CRC32C, "CRC32C"],
  [TYPE_UNIQUE_ID, "UNIQUE_ID"],
  [TYPE_SSL, "SSL"],
  [TYPE_NETNS, "NETNS"],
]);
/**
 * The SSL sub-TLVs with a field of their own in {@linkcode ProxySslInfo}, in
 * the order HAProxy sends them, then the ones it does not send, by type.
 */
const NAMED_SSL_TYPES = new Map<number, keyof ProxySslInfo>([
  [SUBTYPE_SSL_VERSION, "version"],
  [SUBTYPE_SSL_CN, "cn"],
  [SUBTYPE_SSL_KEY_ALG, "keyAlg"],
  [SUBTYPE_SSL_SIG_ALG, "sigAlg"],
  [SUBTYPE_SSL_CIPHER, "cipher"],
  [SUBTYPE_SSL_GROUP, "group"],
  [SUBTYPE_SSL_SIG_SCHEME, "sigScheme"],
  [SUBTYPE_SSL_CLIENT_CERT, "clientCert"],
]);

/** One type-length-value field of a v2 header, as sent. */
export interface ProxyTlv {
  /** The type, 0 to 255. 0xE0-0xEF are for applications, 0xF0-0xF7 for experiments. */
  type: number;
  /** The value, at most 65,535 bytes. */
  value: Uint8Array;
}

/**
 * The SSL TLV (type 0x20): how the client reached the proxy when the proxy
 * terminated TLS. The text fields are the proxy's names for things, such as
 * `"TLSv1.3"` or `"ECDHE-RSA-AES128-GCM-SHA256"`.
 */
export interface ProxySslInfo {
  /**
   * Bit field: 0x01 the client connected over TLS, 0x02 it presented a
   * certificate on this connection, 0x04 it presented one at least once in
   * this TLS session. 0 to 255.
   */
  client: number;
  /**
   * 0 if the client presented a certificate and it was verified, non-zero
   * otherwise (HAProxy also sends 0 when no certificate was asked for).
   * 0 to 2^32 - 1.
   */
  verify: number;
  /** VERSION (0x21): the TLS version. */
  version?: string;
  /** CN (0x22): the Common Name of the client certificate's subject. */
  cn?: string;
  /** CIPHER (0x23): the cipher suite. */
  cipher?: string;
  /** SIG_ALG (0x24): the algorithm that signed the proxy's certificate. */
  sigAlg?: string;
  /** KEY_ALG (0x25): the algorithm of the proxy certificate's key. */
  keyAlg?: string;
  /** GROUP (0x26): the key exchange group. */
  group?: string;
  /** SIG_SCHEME (0x27): the scheme the proxy signed the handshake with. */
  sigScheme?: string;
  /** CLIENT_CERT (0x28): the client certificate, DER-encoded. */
  clientCert?: Uint8Array;
  /** Sub-TLVs of other types, in the order sent. */
  others?: ProxyTlv[];
}

/**
 * The TLVs of a v2 header. Text values are UTF-8 on the wire.
 *
 * Decoding fills the fields of the TLVs it knows and puts every other TLV
 * in `others`, NOOP (0x04) padding included. Encoding writes the fields in
 * the order HAProxy does (CRC32C, ALPN, AUTHORITY, UNIQUE_ID, SSL, NETNS),
 * then `others`.
 */
export interface ProxyTlvs {
  /** ALPN (0x01): the application protocol, such as `"h2"`. */
  alpn?: string;
  /** AUTHORITY (0x02): the host name the client asked for (TLS SNI). */
  authority?: string;
  /**
   * CRC32C (0x03). Decoding sets it to `true` when the header carried a
   * checksum and it matched (a mismatch throws); encoding with `true` adds
   * one, computed over the whole header.
   */
  crc32c?: boolean;
  /** UNIQUE_ID (0x05): an opaque connection ID, at most 128 bytes. */
  uniqueId?: Uint8Array;
  /** SSL (0x20): the client's TLS connection to the proxy. */
  ssl?: ProxySslInfo;
  /** NETNS (0x30): the network namespace's name. */
  netns?: string;
  /**
   * TLVs without a field here, in the order sent: NOOP (0x04), the
   * application range 0xE0-0xEF (AWS and GCP send theirs there),
   * experiments (0xF0-0xF7) and types this module does not know.
   */
  others?: ProxyTlv[];
}

/**
 * A PROXY protocol header.
 *
 * `source` and `destination` are the client's connection as the proxy saw
 * it: the address to report as the connection's remote address, and the one
 * the client connected to. Both are absent when the receiver is to use the
 * socket's own addresses: a `LOCAL` command (health checks), a v1 `UNKNOWN`
 * line, or a v2 header of family `UNSPEC`. IP addresses are in the form
 * `Deno.NetAddr` uses: IPv6 compressed and lowercase, an IPv4-mapped one as
 * `::ffff:a.b.c.d`.
 */
export interface ProxyHeader {
  /** 1 for the text format, 2 for the binary one. */
  version: 1 | 2;
  /**
   * `"PROXY"`: relayed on behalf of `source`. `"LOCAL"` (v2 only): the
   * proxy's own connection, such as a health check.
   */
  command: "PROXY" | "LOCAL";
  /** Where the client connected from. */
  source?: Deno.NetAddr | Deno.UnixAddr;
  /** Where the client connected to. */
  destination?: Deno.NetAddr | Deno.UnixAddr;
  /** The TLVs (v2 only). Decoding a v2 header always sets it. */
  tlvs?: ProxyTlvs;
}

/** Options for {@linkcode decodeProxyHeader}. */
export interface DecodeProxyHeaderOptions {
  /**
   * The largest v2 header accepted, in bytes, its 16 fixed bytes included;
   * a larger one throws as soon as its length field is read. The format
   * allows 65,551. The default holds the largest addresses (UNIX, 232
   * bytes) with every standard TLV at a realistic size (an authority of up
   * to 255 bytes, a 128-byte unique ID, the SSL strings) and still leaves
   * about 3 KiB for a client certificate and custom TLVs, while a proxy
   * that is not what it seems cannot make each pending connection hold 64
   * KiB. A v1 header is at most 107 bytes, whatever this says.
   *
   * @default {4096}
   */
  maxLength?: number;
}

/**
 * What {@linkcode decodeProxyHeader} found: a whole header and its length,
 * or the number of bytes it needs at least before it can decide.
 */
export type DecodeProxyHeaderResult =
  | {
    /** A whole header was found. */
    done: true;
    /** The header. */
    header: ProxyHeader;
    /** How many bytes it took; what follows is the connection's data. */
    length: number;
  }
  | {
    /** The bytes so far are a valid start of a header, but not a whole one. */
    done: false;
    /**
     * The least number of bytes, counted from the start of the header,
     * worth calling again with. For v2 it is exact once the 16 fixed bytes
     * are in; for v1, whose end is a CRLF, it is one more than so far.
     */
    needed: number;
  };

function invalid(detail: string): Deno.errors.InvalidData {
  return new Deno.errors.InvalidData(`Invalid PROXY header: ${detail}`);
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Decodes a PROXY protocol header, v1 or v2, from the first bytes of a
 * connection.
 *
 * Call it with everything received so far, from the first byte on. It never
 * waits and never guesses: it returns the header and its length, or how
 * many bytes it needs, or throws as soon as the bytes seen cannot start a
 * valid header (a wrong signature byte, a v1 line with no CRLF in 107
 * bytes, a bad address, a v2 length over `maxLength`...). Bytes past the
 * header are left alone. The header's values are copies: the buffer may be
 * reused.
 *
 * It is strict: v1 needs single spaces, addresses of the family named
 * (IPv6 in any RFC 4291 text form, IPv4 as a dotted quad without leading
 * zeros), ports 0-65535 without leading zeros, and CRLF. v2 needs version 2,
 * a `LOCAL` or `PROXY` command, a known family, addresses that fit in the
 * length, TLVs that fit too, a correct CRC32C if one is present, and a
 * UNIQUE_ID of at most 128 bytes. A v2 header that says UDP (families 0x12,
 * 0x22, 0x32) with the `PROXY` command throws: on a TCP connection it means
 * a misconfigured proxy, and falling back to the socket's addresses, which
 * the specification allows a receiver that does not handle a family, would
 * silently report the proxy as the client. With `LOCAL` the addresses and
 * their family (UDP included) are ignored, as the specification says, but a
 * family byte it does not list throws with either command.
 *
 * @param bytes The bytes received so far.
 * @param options Limits.
 * @returns The header and its length, or how many bytes are needed.
 * @throws {Deno.errors.InvalidData} If the bytes are not a valid header or
 * the start of one.
 * @throws {RangeError} If `maxLength` is not an integer from 16 to 65,551.
 *
 * @example Decode a v1 header arriving a piece at a time
 * ```ts
 * import { decodeProxyHeader } from "@netkit/tcp/proxy-protocol";
 * import assert from "node:assert/strict";
 *
 * const line = new TextEncoder().encode(
 *   "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n",
 * );
 * let result = decodeProxyHeader(line.subarray(0, 20));
 * assert.equal(result.done, false);
 *
 * result = decodeProxyHeader(line);
 * assert.ok(result.done);
 * assert.equal(result.length, 46);
 * assert.deepEqual(result.header, {
 *   version: 1,
 *   command: "PROXY",
 *   source: { transport: "tcp", hostname: "192.0.2.10", port: 56324 },
 *   destination: { transport: "tcp", hostname: "198.51.100.1", port: 443 },
 * });
 * ```
 *
 * @example Fail fast on what is not a header
 * ```ts
 * import { decodeProxyHeader } from "@netkit/tcp/proxy-protocol";
 * import assert from "node:assert/strict";
 *
 * const request = new TextEncoder().encode("GET / HTTP/1.1\r\n");
 * assert.throws(() => decodeProxyHeader(request), Deno.errors.InvalidData);
 * ```
 */
export function decodeProxyHeader(
  bytes: Uint8Array,
  options: DecodeProxyHeaderOptions = {},
): DecodeProxyHeaderResult {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (
    !Number.isInteger(maxLength) || maxLength < V2_FIXED_LENGTH ||
    maxLength > V2_MAX_LENGTH
  ) {
    throw new RangeError(
      `Cannot decode a PROXY header: maxLength must be an integer from ${V2_FIXED_LENGTH} to ${V2_MAX_LENGTH}, got ${maxLength}`,
    );
  }
  if (bytes.length === 0) return { done: false, needed: V1_MIN_LENGTH };
  if (bytes[0] === 0x50) return decodeV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return decodeV2(bytes, maxLength);
  throw invalid(
    `neither "PROXY" nor the v2 signature (first byte ${hex(bytes[0])})`,
  );
}

// ---------------------------------------------------------------- v1

function decodeV1(bytes: Uint8Array): DecodeProxyHeaderResult {
  const limit = Math.min(bytes.length, V1_MAX_LENGTH);
  let end = -1;
  for (let i = 0; i < limit; i++) {
    const c = bytes[i];
    if (c === 0x0a) {
      if (i === 0 || bytes[i - 1] !== 0x0d) {
        throw invalid(`LF without CR at byte ${i} of the v1 line`);
      }
      end = i - 1;
      break;
    }
    if (c === 0x0d && i + 1 < bytes.length && bytes[i + 1] !== 0x0a) {
      throw invalid(`CR without LF at byte ${i} of the v1 line`);
    }
  }
  if (end < 0) {
    if (bytes.length >= V1_MAX_LENGTH) {
      throw invalid(
        `no CRLF in the first ${V1_MAX_LENGTH} bytes of the v1 line`,
      );
    }
    // A CR can only be followed by its LF: the line before it is whole.
    const cr = bytes[limit - 1] === 0x0d;
    parseV1(latin1(bytes, cr ? limit - 1 : limit), cr);
    return { done: false, needed: Math.max(bytes.length + 1, V1_MIN_LENGTH) };
  }
  const header = parseV1(latin1(bytes, end), true)!;
  return { done: true, header, length: end + 2 };
}

function latin1(bytes: Uint8Array, end: number): string {
  return String.fromCharCode(...bytes.subarray(0, end));
}

const V1_PROTOCOLS = ["TCP4", "TCP6", "UNKNOWN"];
const V1_FIELDS = [
  "source address",
  "destination address",
  "source port",
  "destination port",
];

/**
 * Checks a v1 line without its CRLF (`complete`) or the start of one, and
 * returns the header of a complete one. The start of a line is checked
 * field by field, the last field as the start of a valid one, so that a
 * line that can no longer become valid throws before its CRLF arrives.
 */
function parseV1(text: string, complete: boolean): ProxyHeader | undefined {
  const fields = text.split(" ");
  const last = fields.length - 1;
  const whole = (i: number) => complete || i < last;
  if (whole(0) ? fields[0] !== "PROXY" : !"PROXY".startsWith(fields[0])) {
    throw invalid(
      `a v1 line starts with "PROXY ", got "${printable(text.slice(0, 6))}"`,
    );
  }
  if (fields.length === 1) {
    if (complete) throw invalid("the v1 line has no protocol");
    return undefined;
  }
  const protocol = fields[1];
  if (
    whole(1)
      ? !V1_PROTOCOLS.includes(protocol)
      : !V1_PROTOCOLS.some((p) => p.startsWith(protocol))
  ) {
    throw invalid(
      `unknown v1 protocol "${printable(protocol)}" (TCP4, TCP6 or UNKNOWN)`,
    );
  }
  // The specification has the receiver ignore whatever follows UNKNOWN.
  if (protocol === "UNKNOWN" && whole(1)) {
    return complete ? { version: 1, command: "PROXY" } : undefined;
  }
  for (let i = 2; i < Math.min(fields.length, 6); i++) {
    const field = fields[i];
    const name = V1_FIELDS[i - 2];
    if (whole(i)) {
      if (field === "") {
        throw invalid(`empty ${name} in the v1 line (two spaces?)`);
      }
    } else if (field === "") {
      continue;
    }
    const ok = i < 4
      ? (whole(i) ? validAddress : validAddressStart)(protocol, field)
      // A port's start is valid exactly when it is a valid port itself.
      : parsePort(field) !== undefined;
    if (!ok) {
      throw invalid(
        `bad ${protocol} ${name} "${printable(field)}" in the v1 line`,
      );
    }
  }
  if (fields.length > 6) {
    throw invalid(`too many fields in the v1 line: "${printable(text)}"`);
  }
  if (!complete) return undefined;
  if (fields.length < 6) {
    throw invalid(
      `the v1 line ends after its ${
        V1_FIELDS[fields.length - 3] ?? "protocol"
      }`,
    );
  }
  return {
    version: 1,
    command: "PROXY",
    source: netAddr(protocol, fields[2], parsePort(fields[4])!),
    destination: netAddr(protocol, fields[3], parsePort(fields[5])!),
  };
}

function printable(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}...` : text;
  return shown.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

function validAddress(protocol: string, text: string): boolean {
  return protocol === "TCP4"
    ? parseIPv4(text) !== undefined
    : parseIPv6(text) !== undefined;
}

function netAddr(protocol: string, text: string, port: number): Deno.NetAddr {
  const hostname = protocol === "TCP4" ? text : formatIPv6(parseIPv6(text)!);
  return { transport: "tcp", hostname, port };
}

/** Whether `text` can still grow into a valid address of the protocol. */
function validAddressStart(protocol: string, text: string): boolean {
  if (protocol === "TCP4") return validIPv4Start(text);
  if (text.length > 45 || /[^0-9a-fA-F:.]/.test(text) || text.includes(":::")) {
    return false;
  }
  if (text.split("::").length > 2) return false;
  const dot = text.indexOf(".");
  const colon = text.lastIndexOf(":");
  if (
    dot >= 0 &&
    (colon < 0 || colon > dot || !validIPv4Start(text.slice(colon + 1)))
  ) {
    return false;
  }
  const groups = text.slice(0, dot >= 0 ? colon : text.length).split(":");
  if (groups.some((g) => g.length > 4)) return false;
  const count = groups.filter((g) => g !== "").length + (dot >= 0 ? 2 : 0);
  return count <= (text.includes("::") ? 7 : 8);
}

function validIPv4Start(text: string): boolean {
  const parts = text.split(".");
  if (parts.length > 4) return false;
  return parts.every((part, i) =>
    (part !== "" || i === parts.length - 1) && /^[0-9]{0,3}$/.test(part) &&
    !(part.length > 1 && part[0] === "0") && Number(part) <= 255
  );
}

function parsePort(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 0xffff ? port : undefined;
}

// ---------------------------------------------------------------- v2

/** Address bytes per family byte; `undefined`: not a family the specification lists. */
const V2_ADDRESS_LENGTHS = new Map<number, number>([
  [0x00, 0],
  [0x11, 12],
  [0x12, 12],
  [0x21, 36],
  [0x22, 36],
  [0x31, 216],
  [0x32, 216],
]);

function decodeV2(
  bytes: Uint8Array,
  maxLength: number,
): DecodeProxyHeaderResult {
  const seen = Math.min(bytes.length, V2_SIGNATURE.length);
  for (let i = 1; i < seen; i++) {
    if (bytes[i] !== V2_SIGNATURE[i]) {
      throw invalid(
        `byte ${i} is ${hex(bytes[i])}, not the v2 signature's ${
          hex(V2_SIGNATURE[i])
        }`,
      );
    }
  }
  let command: "PROXY" | "LOCAL" = "PROXY";
  if (bytes.length > 12) {
    const version = bytes[12] >> 4;
    if (version !== 2) {
      throw invalid(`version ${version} after the v2 signature (only 2)`);
    }
    const code = bytes[12] & 0x0f;
    if (code > 1) {
      throw invalid(`unknown v2 command ${code} (0 LOCAL, 1 PROXY)`);
    }
    command = code === 1 ? "PROXY" : "LOCAL";
  }
  let addressLength = 0;
  if (bytes.length > 13) {
    const family = bytes[13];
    const length = V2_ADDRESS_LENGTHS.get(family);
    if (length === undefined) {
      throw invalid(`unknown v2 address family and transport ${hex(family)}`);
    }
    if (command === "PROXY" && (family & 0x0f) === 2) {
      throw invalid(`a v2 header for UDP (${hex(family)}) on a TCP connection`);
    }
    addressLength = length;
  }
  if (bytes.length < V2_FIXED_LENGTH) {
    return { done: false, needed: V2_FIXED_LENGTH };
  }
  const length = (bytes[14] << 8) | bytes[15];
  const total = V2_FIXED_LENGTH + length;
  if (total > maxLength) {
    throw invalid(
      `a ${total}-byte v2 header is over the ${maxLength}-byte limit`,
    );
  }
  if (command === "PROXY" && length < addressLength) {
    throw invalid(
      `family ${
        hex(bytes[13])
      } needs ${addressLength} address bytes, the v2 header has ${length}`,
    );
  }
  if (bytes.length < total) return { done: false, needed: total };

  const header: ProxyHeader = { version: 2, command };
  if (command === "PROXY" && addressLength > 0) {
    Object.assign(header, decodeV2Addresses(bytes, bytes[13]));
  }
  // A LOCAL header's family is to be ignored; its TLVs follow its addresses
  // when they fit, and a length too short for them holds none.
  const tlvStart = V2_FIXED_LENGTH + addressLength;
  header.tlvs = tlvStart <= total ? decodeTlvs(bytes, tlvStart, total) : {};
  return { done: true, header, length: total };
}

function decodeV2Addresses(
  bytes: Uint8Array,
  family: number,
): Pick<ProxyHeader, "source" | "destination"> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (family === 0x11) {
    return {
      source: {
        transport: "tcp",
        hostname: formatIPv4(view.getUint32(16)),
        port: view.getUint16(24),
      },
      destination: {
        transport: "tcp",
        hostname: formatIPv4(view.getUint32(20)),
        port: view.getUint16(26),
      },
    };
  }
  if (family === 0x21) {
    return {
      source: {
        transport: "tcp",
        hostname: formatIPv6(bytes.subarray(16, 32)),
        port: view.getUint16(48),
      },
      destination: {
        transport: "tcp",
        hostname: formatIPv6(bytes.subarray(32, 48)),
        port: view.getUint16(50),
      },
    };
  }
  return {
    source: {
      transport: "unix",
      path: unixPath(bytes.subarray(16, 124), "source"),
    },
    destination: {
      transport: "unix",
      path: unixPath(bytes.subarray(124, 232), "destination"),
    },
  };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();

function utf8(value: Uint8Array, what: string): string {
  try {
    return UTF8.decode(value);
  } catch {
    throw invalid(`the ${what} is not UTF-8`);
  }
}

/**
 * A `sun_path`: a path ends at its first NUL; a Linux abstract name starts
 * with a NUL and its length is not sent, so its trailing NULs are dropped.
 */
function unixPath(raw: Uint8Array, which: string): string {
  if (raw[0] !== 0) {
    const nul = raw.indexOf(0);
    return utf8(nul < 0 ? raw : raw.subarray(0, nul), `UNIX ${which} path`);
  }
  let end = raw.length;
  while (end > 1 && raw[end - 1] === 0) end--;
  return end === 1 ? "" : utf8(raw.subarray(0, end), `UNIX ${which} path`);
}

interface RawTlv {
  type: number;
  start: number;
  end: number;
}

/** Splits `bytes[start, end)` into TLVs; one that overruns `end` throws. */
function splitTlvs(
  bytes: Uint8Array,
  start: number,
  end: number,
  where: string,
): RawTlv[] {
  const tlvs: RawTlv[] = [];
  for (let at = start; at < end;) {
    if (end - at < 3) {
      throw invalid(
        `${end - at} stray bytes at byte ${at}, too few for a TLV ${where}`,
      );
    }
    const length = (bytes[at + 1] << 8) | bytes[at + 2];
    if (at + 3 + length > end) {
      throw invalid(
        `TLV ${hex(bytes[at])} at byte ${at} needs ${length} bytes, ${
          end - at - 3
        } are left ${where}`,
      );
    }
    tlvs.push({ type: bytes[at], start: at + 3, end: at + 3 + length });
    at += 3 + length;
  }
  return tlvs;
}

function decodeTlvs(bytes: Uint8Array, start: number, end: number): ProxyTlvs {
  const tlvs: ProxyTlvs = {};
  const seen = new Set<number>();
  for (const tlv of splitTlvs(bytes, start, end, "in the v2 header")) {
    const value = bytes.subarray(tlv.start, tlv.end);
    const name = NAMED_TYPES.get(tlv.type);
    if (name !== undefined) {
      if (seen.has(tlv.type)) throw invalid(`two ${name} TLVs`);
      seen.add(tlv.type);
    }
    switch (tlv.type) {
      case TYPE_ALPN:
        tlvs.alpn = utf8(value, "ALPN TLV");
        break;
      case TYPE_AUTHORITY:
        tlvs.authority = utf8(value, "AUTHORITY TLV");
        break;
      case TYPE_CRC32C:
        checkCrc32c(bytes, end, tlv);
        tlvs.crc32c = true;
        break;
      case TYPE_UNIQUE_ID:
        if (value.length > UNIQUE_ID_MAX_LENGTH) {
          throw invalid(
            `a ${value.length}-byte UNIQUE_ID TLV (at most ${UNIQUE_ID_MAX_LENGTH})`,
          );
        }
        tlvs.uniqueId = value.slice();
        break;
      case TYPE_SSL:
        tlvs.ssl = decodeSsl(bytes, tlv);
        break;
      case TYPE_NETNS:
        tlvs.netns = utf8(value, "NETNS TLV");
        break;
      default:
        (tlvs.others ??= []).push({ type: tlv.type, value: value.slice() });
    }
  }
  return tlvs;
}

const ZEROS = new Uint8Array(4);

/** Checks the CRC32C of `bytes[0, end)` with the checksum's own bytes as zeros. */
function checkCrc32c(bytes: Uint8Array, end: number, tlv: RawTlv): void {
  if (tlv.end - tlv.start !== 4) {
    throw invalid(`a ${tlv.end - tlv.start}-byte CRC32C TLV (4)`);
  }
  let crc = crc32c(bytes.subarray(0, tlv.start));
  crc = crc32c(ZEROS, crc);
  crc = crc32c(bytes.subarray(tlv.end, end), crc);
  const sent = new DataView(bytes.buffer, bytes.byteOffset + tlv.start, 4)
    .getUint32(0);
  if (crc !== sent) {
    throw invalid(
      `CRC32C mismatch: the header says ${hex32(sent)}, its bytes give ${
        hex32(crc)
      }`,
    );
  }
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

function decodeSsl(bytes: Uint8Array, tlv: RawTlv): ProxySslInfo {
  if (tlv.end - tlv.start < 5) {
    throw invalid(`a ${tlv.end - tlv.start}-byte SSL TLV (at least 5)`);
  }
  const ssl: ProxySslInfo = {
    client: bytes[tlv.start],
    verify: new DataView(bytes.buffer, bytes.byteOffset + tlv.start + 1, 4)
      .getUint32(0),
  };
  const seen = new Set<number>();
  for (
    const sub of splitTlvs(bytes, tlv.start + 5, tlv.end, "in the SSL TLV")
  ) {
    const value = bytes.subarray(sub.start, sub.end);
    const field = NAMED_SSL_TYPES.get(sub.type);
    if (field === undefined) {
      (ssl.others ??= []).push({ type: sub.type, value: value.slice() });
      continue;
    }
    if (seen.has(sub.type)) throw invalid(`two SSL ${hex(sub.type)} sub-TLVs`);
    seen.add(sub.type);
    if (field === "clientCert") {
      ssl.clientCert = value.slice();
    } else {
      (ssl as unknown as Record<string, string>)[field] = utf8(
        value,
        `SSL ${hex(sub.type)} sub-TLV`,
      );
    }
  }
  return ssl;
}

// ---------------------------------------------------------------- encoding

/**
 * Encodes a PROXY protocol header.
 *
 * v1: TCP over IPv4 (`TCP4`) when both addresses are IPv4, `TCP6`
 * otherwise, with an IPv4 address written IPv4-mapped (`::ffff:a.b.c.d`) as
 * HAProxy does when the two differ; no addresses give `PROXY UNKNOWN`. v1
 * has no `LOCAL` command, no UNIX addresses and no TLVs.
 *
 * v2: the family follows the addresses the same way (UNIX for `"unix"`
 * ones, `UNSPEC` when there are none or the command is `LOCAL`), then the
 * TLVs, with a CRC32C over the whole header when `tlvs.crc32c` is `true`.
 * HAProxy (2.6 up to 3.5-dev at least) refuses a v2 `PROXY` header without
 * addresses or with UNIX ones, which the specification allows; it sends
 * `LOCAL` in those cases itself, and so should a client that talks to it.
 *
 * @param header The header to encode.
 * @returns The header's bytes, to send before anything else.
 * @throws {TypeError} If the header is not one the format can carry: a
 * `LOCAL` command with addresses, one address without the other, a
 * hostname that is not an IP address, a transport other than `"tcp"` or
 * `"unix"`, or v1 with `LOCAL`, UNIX addresses or TLVs.
 * @throws {RangeError} If a number is out of range (version, port, TLV
 * type, SSL bits) or a value is too long (a UNIX path over 108 bytes, a
 * UNIQUE_ID over 128, a TLV over 65,535, the header over 65,551).
 *
 * @example Play a load balancer in front of a server that expects v1
 * ```ts
 * import { encodeProxyHeader } from "@netkit/tcp/proxy-protocol";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeProxyHeader({
 *   version: 1,
 *   command: "PROXY",
 *   source: { transport: "tcp", hostname: "2001:db8::7", port: 40000 },
 *   destination: { transport: "tcp", hostname: "2001:db8::1", port: 25 },
 * });
 * assert.equal(
 *   new TextDecoder().decode(bytes),
 *   "PROXY TCP6 2001:db8::7 2001:db8::1 40000 25\r\n",
 * );
 * ```
 *
 * @example A v2 health check with a checksum
 * ```ts
 * import {
 *   decodeProxyHeader,
 *   encodeProxyHeader,
 * } from "@netkit/tcp/proxy-protocol";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeProxyHeader({
 *   version: 2,
 *   command: "LOCAL",
 *   tlvs: { crc32c: true },
 * });
 * assert.equal(bytes.length, 16 + 7);
 * assert.deepEqual(decodeProxyHeader(bytes), {
 *   done: true,
 *   header: { version: 2, command: "LOCAL", tlvs: { crc32c: true } },
 *   length: 23,
 * });
 * ```
 */
export function encodeProxyHeader(header: ProxyHeader): Uint8Array {
  if (typeof header !== "object" || header === null) {
    throw new TypeError(
      "Cannot encode a PROXY header: the header must be an object",
    );
  }
  const { version, command, source, destination } = header;
  if (version !== 1 && version !== 2) {
    throw new RangeError(
      `Cannot encode a PROXY header: version must be 1 or 2, got ${version}`,
    );
  }
  if (command !== "PROXY" && command !== "LOCAL") {
    throw new TypeError(
      `Cannot encode a PROXY header: command must be "PROXY" or "LOCAL", got "${command}"`,
    );
  }
  if ((source === undefined) !== (destination === undefined)) {
    throw new TypeError(
      "Cannot encode a PROXY header: it needs both a source and a destination, or neither",
    );
  }
  if (command === "LOCAL" && source !== undefined) {
    throw new TypeError(
      "Cannot encode a PROXY header: a LOCAL header carries no addresses",
    );
  }
  const addresses = source === undefined
    ? undefined
    : encodeAddresses(source, destination!);
  return version === 1
    ? encodeV1(header, addresses)
    : encodeV2(header, addresses);
}

type EncodedAddresses =
  | {
    family: "TCP4";
    source: Uint8Array;
    destination: Uint8Array;
    sourcePort: number;
    destinationPort: number;
  }
  | {
    family: "TCP6";
    source: Uint8Array;
    destination: Uint8Array;
    sourcePort: number;
    destinationPort: number;
  }
  | { family: "UNIX"; source: Uint8Array; destination: Uint8Array };

function encodeAddresses(
  source: Deno.NetAddr | Deno.UnixAddr,
  destination: Deno.NetAddr | Deno.UnixAddr,
): EncodedAddresses {
  const kinds = [source, destination].map((a) =>
    typeof a === "object" && a !== null ? a.transport : undefined
  );
  if (kinds[0] === "unix" && kinds[1] === "unix") {
    return {
      family: "UNIX",
      source: encodeUnixPath((source as Deno.UnixAddr).path, "source"),
      destination: encodeUnixPath(
        (destination as Deno.UnixAddr).path,
        "destination",
      ),
    };
  }
  if (kinds[0] !== "tcp" || kinds[1] !== "tcp") {
    throw new TypeError(
      `Cannot encode a PROXY header: the addresses must both be "tcp" or both "unix", got "${
        kinds[0]
      }" and "${kinds[1]}"`,
    );
  }
  const from = source as Deno.NetAddr;
  const to = destination as Deno.NetAddr;
  const sourcePort = checkPort(from.port, "source");
  const destinationPort = checkPort(to.port, "destination");
  const v4 = [parseIPv4(String(from.hostname)), parseIPv4(String(to.hostname))];
  if (v4[0] !== undefined && v4[1] !== undefined) {
    return {
      family: "TCP4",
      source: v4Bytes(v4[0]),
      destination: v4Bytes(v4[1]),
      sourcePort,
      destinationPort,
    };
  }
  return {
    family: "TCP6",
    source: v6Bytes(from.hostname, v4[0], "source"),
    destination: v6Bytes(to.hostname, v4[1], "destination"),
    sourcePort,
    destinationPort,
  };
}

function checkPort(port: unknown, which: string): number {
  if (
    !Number.isInteger(port) || (port as number) < 0 || (port as number) > 0xffff
  ) {
    throw new RangeError(
      `Cannot encode a PROXY header: the ${which} port must be an integer from 0 to 65535, got ${port}`,
    );
  }
  return port as number;
}

function v4Bytes(value: number): Uint8Array {
  return Uint8Array.of(
    value >>> 24,
    (value >>> 16) & 0xff,
    (value >>> 8) & 0xff,
    value & 0xff,
  );
}

function v6Bytes(
  hostname: string,
  v4: number | undefined,
  which: string,
): Uint8Array {
  if (v4 !== undefined) {
    const bytes = new Uint8Array(16);
    bytes[10] = bytes[11] = 0xff;
    bytes.set(v4Bytes(v4), 12);
    return bytes;
  }
  const bytes = parseIPv6(String(hostname));
  if (bytes === undefined) {
    throw new TypeError(
      `Cannot encode a PROXY header: the ${which} hostname "${hostname}" is not an IP address`,
    );
  }
  return bytes;
}

function encodeUnixPath(path: unknown, which: string): Uint8Array {
  if (typeof path !== "string") {
    throw new TypeError(
      `Cannot encode a PROXY header: the ${which} path must be a string`,
    );
  }
  const bytes = ENCODER.encode(path);
  if (bytes.length > UNIX_PATH_LENGTH) {
    throw new RangeError(
      `Cannot encode a PROXY header: the ${which} path is ${bytes.length} bytes, over ${UNIX_PATH_LENGTH}`,
    );
  }
  return bytes;
}

function hasTlvs(tlvs: ProxyTlvs | undefined): boolean {
  return tlvs !== undefined && tlvs !== null &&
    Object.values(tlvs).some((v) =>
      v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)
    );
}

function encodeV1(
  header: ProxyHeader,
  addresses: EncodedAddresses | undefined,
): Uint8Array {
  if (header.command === "LOCAL") {
    throw new TypeError(
      "Cannot encode a PROXY header: v1 has no LOCAL command (send PROXY without addresses)",
    );
  }
  if (hasTlvs(header.tlvs)) {
    throw new TypeError("Cannot encode a PROXY header: v1 carries no TLVs");
  }
  if (addresses === undefined) return ENCODER.encode("PROXY UNKNOWN\r\n");
  if (addresses.family === "UNIX") {
    throw new TypeError(
      "Cannot encode a PROXY header: v1 carries no UNIX addresses",
    );
  }
  const format = addresses.family === "TCP4"
    ? (b: Uint8Array) => b.join(".")
    : formatIPv6;
  return ENCODER.encode(
    `PROXY ${addresses.family} ${format(addresses.source)} ${
      format(addresses.destination)
    } ${addresses.sourcePort} ${addresses.destinationPort}\r\n`,
  );
}

/** Writes a header into a buffer that grows as needed. */
class Writer {
  #buffer = new Uint8Array(256);
  length = 0;
  #reserve(n: number): void {
    if (this.length + n <= this.#buffer.length) return;
    const grown = new Uint8Array(
      Math.max(this.#buffer.length * 2, this.length + n),
    );
    grown.set(this.#buffer.subarray(0, this.length));
    this.#buffer = grown;
  }
  bytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.length++] = value;
  }
  uint16(value: number): void {
    this.byte(value >>> 8);
    this.byte(value & 0xff);
  }
  uint32(value: number): void {
    this.uint16(value >>> 16);
    this.uint16(value & 0xffff);
  }
  tlv(type: number, value: Uint8Array, what: string): void {
    if (value.length > 0xffff) {
      throw new RangeError(
        `Cannot encode a PROXY header: the ${what} is ${value.length} bytes, over 65535`,
      );
    }
    this.byte(type);
    this.uint16(value.length);
    this.bytes(value);
  }
  finish(): Uint8Array {
    return this.#buffer.slice(0, this.length);
  }
}

function encodeV2(
  header: ProxyHeader,
  addresses: EncodedAddresses | undefined,
): Uint8Array {
  const out = new Writer();
  out.bytes(V2_SIGNATURE);
  out.byte(header.command === "PROXY" ? 0x21 : 0x20);
  out.byte(
    addresses === undefined
      ? 0x00
      : addresses.family === "TCP4"
      ? 0x11
      : addresses.family === "TCP6"
      ? 0x21
      : 0x31,
  );
  out.uint16(0); // the length, set below
  if (addresses?.family === "UNIX") {
    const path = new Uint8Array(2 * UNIX_PATH_LENGTH);
    path.set(addresses.source, 0);
    path.set(addresses.destination, UNIX_PATH_LENGTH);
    out.bytes(path);
  } else if (addresses !== undefined) {
    out.bytes(addresses.source);
    out.bytes(addresses.destination);
    out.uint16(addresses.sourcePort);
    out.uint16(addresses.destinationPort);
  }
  let crcAt = -1;
  const tlvs = header.tlvs ?? {};
  if (typeof tlvs !== "object" || tlvs === null) {
    throw new TypeError("Cannot encode a PROXY header: tlvs must be an object");
  }
  if (tlvs.crc32c) {
    crcAt = out.length + 3;
    out.tlv(TYPE_CRC32C, ZEROS, "CRC32C TLV");
  }
  if (tlvs.alpn !== undefined) {
    out.tlv(TYPE_ALPN, encodeText(tlvs.alpn, "alpn"), "ALPN TLV");
  }
  if (tlvs.authority !== undefined) {
    out.tlv(
      TYPE_AUTHORITY,
      encodeText(tlvs.authority, "authority"),
      "AUTHORITY TLV",
    );
  }
  if (tlvs.uniqueId !== undefined) {
    const id = checkBytes(tlvs.uniqueId, "uniqueId");
    if (id.length > UNIQUE_ID_MAX_LENGTH) {
      throw new RangeError(
        `Cannot encode a PROXY header: the UNIQUE_ID is ${id.length} bytes, over ${UNIQUE_ID_MAX_LENGTH}`,
      );
    }
    out.tlv(TYPE_UNIQUE_ID, id, "UNIQUE_ID TLV");
  }
  if (tlvs.ssl !== undefined) out.tlv(TYPE_SSL, encodeSsl(tlvs.ssl), "SSL TLV");
  if (tlvs.netns !== undefined) {
    out.tlv(TYPE_NETNS, encodeText(tlvs.netns, "netns"), "NETNS TLV");
  }
  for (const tlv of tlvs.others ?? []) {
    const type = checkOtherType(tlv, NAMED_TYPES, "tlvs.others");
    out.tlv(type, checkBytes(tlv.value, "TLV value"), `TLV ${hex(type)}`);
  }
  if (out.length > V2_MAX_LENGTH) {
    throw new RangeError(
      `Cannot encode a PROXY header: ${out.length} bytes, over the ${V2_MAX_LENGTH} v2 allows`,
    );
  }
  const bytes = out.finish();
  const length = bytes.length - V2_FIXED_LENGTH;
  bytes[14] = length >>> 8;
  bytes[15] = length & 0xff;
  if (crcAt >= 0) new DataView(bytes.buffer).setUint32(crcAt, crc32c(bytes));
  return bytes;
}

function encodeText(value: unknown, what: string): Uint8Array {
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot encode a PROXY header: ${what} must be a string`,
    );
  }
  return ENCODER.encode(value);
}

function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot encode a PROXY header: ${what} must be a Uint8Array`,
    );
  }
  return value;
}

function checkOtherType(
  tlv: ProxyTlv,
  named: Map<number, unknown>,
  where: string,
): number {
  const type = tlv?.type;
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    throw new RangeError(
      `Cannot encode a PROXY header: a TLV type in ${where} must be an integer from 0 to 255, got ${type}`,
    );
  }
  if (named.has(type)) {
    throw new TypeError(
      `Cannot encode a PROXY header: TLV type ${
        hex(type)
      } in ${where} has a field of its own`,
    );
  }
  return type;
}

function encodeSsl(ssl: ProxySslInfo): Uint8Array {
  if (typeof ssl !== "object" || ssl === null) {
    throw new TypeError("Cannot encode a PROXY header: ssl must be an object");
  }
  if (!Number.isInteger(ssl.client) || ssl.client < 0 || ssl.client > 0xff) {
    throw new RangeError(
      `Cannot encode a PROXY header: ssl.client must be an integer from 0 to 255, got ${ssl.client}`,
    );
  }
  if (
    !Number.isInteger(ssl.verify) || ssl.verify < 0 || ssl.verify > 0xffffffff
  ) {
    throw new RangeError(
      `Cannot encode a PROXY header: ssl.verify must be an integer from 0 to 4294967295, got ${ssl.verify}`,
    );
  }
  const out = new Writer();
  out.byte(ssl.client);
  out.uint32(ssl.verify);
  for (const [type, field] of NAMED_SSL_TYPES) {
    const value = ssl[field];
    if (value === undefined) continue;
    out.tlv(
      type,
      field === "clientCert"
        ? checkBytes(value, "ssl.clientCert")
        : encodeText(value, `ssl.${field}`),
      `SSL ${field} sub-TLV`,
    );
  }
  for (const tlv of ssl.others ?? []) {
    const type = checkOtherType(tlv, NAMED_SSL_TYPES, "ssl.others");
    out.tlv(
      type,
      checkBytes(tlv.value, "sub-TLV value"),
      `SSL sub-TLV ${hex(type)}`,
    );
  }
  return out.finish();
}
