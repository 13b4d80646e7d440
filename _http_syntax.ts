// Copyright 2026 the tcp authors. MIT license.
// The pieces of HTTP's grammar (RFC 9110, section 5.6) that more than one
// part of the client checks: the request's fields, the response's head and
// the chunked decoder's extensions all use these, so that a rule is written
// once.

/**
 * Characters that no field value may hold: everything but HTAB, SP, VCHAR
 * and obs-text (RFC 9110, section 5.5). CR, LF and NUL among them would let
 * a value end the field or the head early.
 */
export const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Whether `text` is a `token`: `1*tchar` (RFC 9110, section 5.6.2). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    if (!isTokenChar(text.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Whether `code` is a `tchar`: `!#$%&'*+-.^_`|~`, a digit or a letter, all
 * ASCII.
 */
export function isTokenChar(code: number): boolean {
  return code < 0x80 && TCHAR[code] === 1;
}

const TCHAR = new Uint8Array(0x80);
for (const char of "!#$%&'*+-.^_`|~") TCHAR[char.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/**
 * The index just past the `quoted-string` that starts at `text[start]` (a
 * `"`), or -1 if it is not closed (RFC 9110, section 5.6.4). The text is
 * expected to hold no control characters other than HTAB, which makes every
 * other character valid as `qdtext` (except `"` and `\`) and after `\`.
 */
export function quotedStringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i];
    if (char === '"') return i + 1;
    if (char === "\\") i++;
  }
  return -1;
}

/**
 * Decodes `bytes` as Latin-1, byte for byte (field values may carry
 * obs-text), refusing control characters other than HTAB: a bare CR or a NUL
 * has no place in a head or a chunk line, and is how smuggling attacks start.
 *
 * @param what What the bytes are, for the message: `"status line"`.
 * @throws {Deno.errors.InvalidData} For a control character.
 */
export function decodeText(bytes: Uint8Array, what: string): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f) {
      throw new Deno.errors.InvalidData(
        `${what} contains the control character 0x${
          byte.toString(16).padStart(2, "0")
        }`,
      );
    }
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Shows a piece of a hostile line in a message without flooding it. */
export function quote(text: string, max = 60): string {
  const shown = text.length > max ? text.slice(0, max) + "…" : text;
  return JSON.stringify(shown);
}
