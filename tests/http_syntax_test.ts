// Copyright 2026 the tcp authors. MIT license.
// The grammar rules that the request, the response and the chunked decoder
// share (RFC 9110, section 5.6), both ways.
import assert from "node:assert/strict";
import {
  decodeText,
  isToken,
  NOT_FIELD_VALUE,
  quote,
  quotedStringEnd,
} from "../_http_syntax.ts";

Deno.test("isToken() takes 1*tchar and nothing else", () => {
  for (const token of ["a", "Content-Length", "!#$%&'*+-.^_`|~", "09AZaz"]) {
    assert.ok(isToken(token), token);
  }
  for (
    const text of [
      "",
      "a b",
      "a:b",
      "(a)",
      "a/b",
      "a@b",
      'a"',
      "a\t",
      "\xe9",
      "a\0",
    ]
  ) {
    assert.ok(!isToken(text), JSON.stringify(text));
  }
  // Every ASCII character: exactly the 77 tchars of the grammar.
  let count = 0;
  for (let c = 0; c < 0x80; c++) if (isToken(String.fromCharCode(c))) count++;
  assert.equal(count, 15 + 10 + 26 + 26);
});

Deno.test("NOT_FIELD_VALUE finds what no field value may hold", () => {
  assert.ok(!NOT_FIELD_VALUE.test("text\twith spaces and caf\xe9 ~"));
  for (const bad of ["\r", "\n", "\0", "\x01", "\x1f", "\x7f", "\u0100"]) {
    assert.ok(NOT_FIELD_VALUE.test(`a${bad}b`), JSON.stringify(bad));
  }
});

Deno.test("quotedStringEnd() finds the closing quote past quoted-pairs", () => {
  assert.equal(quotedStringEnd('""', 0), 2);
  assert.equal(quotedStringEnd('x="ab";', 2), 6);
  assert.equal(quotedStringEnd('"a\\"b"', 0), 6);
  assert.equal(quotedStringEnd('"a\\\\"b', 0), 5);
  assert.equal(quotedStringEnd('"abc', 0), -1);
  assert.equal(quotedStringEnd('"abc\\"', 0), -1);
  assert.equal(quotedStringEnd('"\\', 0), -1);
});

Deno.test("decodeText() decodes Latin-1 and refuses control characters but HTAB", () => {
  assert.equal(
    decodeText(new Uint8Array([0x61, 0x09, 0xe9, 0xff]), "line"),
    "a\t\xe9\xff",
  );
  for (const byte of [0x00, 0x0a, 0x0d, 0x1f, 0x7f]) {
    assert.throws(
      () => decodeText(new Uint8Array([0x61, byte]), "status line"),
      (error: Error) =>
        error instanceof Deno.errors.InvalidData &&
        error.message ===
          `status line contains the control character 0x${
            byte.toString(16).padStart(2, "0")
          }`,
    );
  }
});

Deno.test("quote() shows at most 60 characters of hostile text", () => {
  assert.equal(quote('a"b'), '"a\\"b"');
  assert.equal(quote("x".repeat(100)), `"${"x".repeat(60)}…"`);
});
