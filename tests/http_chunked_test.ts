// Copyright 2026 the tcp authors. MIT license.
// The chunked decoder on byte fixtures, without sockets: every rule of the
// grammar of RFC 9112 sections 7.1 and 7.1.1, both what must pass and what
// must fail, each under every chunking of the bytes.
import assert from "node:assert/strict";
import {
  type BufferedReader,
  LimitExceededError,
} from "../_buffered_reader.ts";
import { ChunkedDecoder, parseChunkLine } from "../_http_chunked.ts";
import {
  CHUNKINGS,
  failing,
  fixedReader,
  latin1,
  pieces,
} from "./_byte_sources.ts";

type ErrorClass = abstract new (...args: never[]) => Error;

/** Decodes all of a chunked body from `reader`, as Latin-1 text. */
async function drain(reader: BufferedReader): Promise<string> {
  const decoder = new ChunkedDecoder(reader);
  let body = "";
  // Smaller than some chunks, so that chunks are read in parts as well.
  const p = new Uint8Array(7);
  for (let n; (n = await decoder.readInto(p)) !== null;) {
    body += String.fromCharCode(...p.subarray(0, n));
  }
  assert.equal(decoder.received, body.length);
  return body;
}

/** Decodes `text` under every chunking; returns the body and what follows. */
async function decodes(text: string): Promise<{ body: string; rest: string }> {
  let first: { body: string; rest: string } | undefined;
  for (const [name, source] of CHUNKINGS) {
    const reader = fixedReader(source(text));
    const body = await drain(reader);
    let rest = "";
    for (let data; (data = await reader.read()) !== null;) {
      rest += String.fromCharCode(...data);
    }
    if (first === undefined) first = { body, rest };
    else assert.deepEqual({ body, rest }, first, name);
  }
  return first!;
}

/** Expects decoding `text` to fail the same way under every chunking. */
async function refuses(
  text: string,
  errorClass: ErrorClass,
  message: RegExp,
): Promise<void> {
  for (const [name, source] of CHUNKINGS) {
    await assert.rejects(drain(fixedReader(source(text))), (error: Error) => {
      assert.ok(error instanceof errorClass, `${name}: ${error}`);
      assert.match(error.message, message, name);
      return true;
    });
  }
}

/** A body whose one chunk of "hello" has `line` (without CRLF) as its line. */
const withLine = (line: string) => `${line}\r\nhello\r\n0\r\n\r\n`;

/** Chunk lines that must pass, each for a chunk of 5 bytes, by rule. */
const VALID: Record<string, string[]> = {
  "chunk-size = 1*HEXDIG": ["5", "05", "00000005", "5 ;a"],
  'chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )': [
    "5;a",
    "5;a;b",
    '5;a=1;b;c="2"',
    "5 ;a",
    "5\t;a",
    "5 \t ;a",
    "5; a",
    "5;\ta",
    "5;a =b",
    "5;a= b",
    "5;a \t=\t b",
    '5 ; a = b ; c = "d"',
  ],
  "chunk-ext-name = token": [
    "5;!#$%&'*+-.^_`|~",
    "5;0123456789",
    "5;ABCXYZabcxyz",
  ],
  "chunk-ext-val = token": ["5;a=b", "5;a=!#$%&'*+-.^_`|~09AZaz"],
  "chunk-ext-val = quoted-string": [
    '5;a=""',
    '5;a="b c"',
    '5;a="\t"',
    '5;a="; = , ( ) / @"',
    '5;a="\\"q\\""',
    '5;a="\\\\"',
    '5;a="\\\t\\ \\a"',
    '5;a="caf\xe9"',
    '5;a="\\\xe9"',
  ],
};

/** Chunk lines that must fail, with what the message must say, by rule. */
const INVALID: Record<string, [string, RegExp][]> = {
  "chunk-size = 1*HEXDIG": [
    ["", /does not start with a chunk size/],
    [";a", /does not start with a chunk size/],
    ["zz", /malformed chunk size line "zz"/],
    [" 5", /does not start with a chunk size/],
    ["+5", /does not start with a chunk size/],
    ["-5", /does not start with a chunk size/],
    ["0x5", /expected ";" or the end, found "x"/],
    ["5g", /expected ";" or the end, found "g"/],
    ["5,a", /expected ";" or the end, found ","/],
    ["5=a", /expected ";" or the end, found "="/],
  ],
  'BWS only before ";"': [
    ["5 ", /whitespace without an extension/],
    ["5\t", /whitespace without an extension/],
    ["5;a ", /whitespace without an extension/],
    ["5;a=b ", /whitespace without an extension/],
    ['5;a="b" ', /whitespace without an extension/],
    ["5 a", /expected ";" or the end, found "a"/],
  ],
  "chunk-ext-name = token": [
    ["5;", /a chunk extension has no name/],
    ["5; ", /a chunk extension has no name/],
    ["5;;a", /a chunk extension has no name/],
    ["5;a;", /a chunk extension has no name/],
    ["5;=b", /a chunk extension has no name/],
    ['5;"a"', /a chunk extension has no name/],
    ["5;(a)", /a chunk extension has no name/],
    ["5;\xe9", /a chunk extension has no name/],
    ["5;a b", /expected ";" or the end, found "b"/],
    ["5;a@b", /expected ";" or the end, found "@"/],
    ["5;a/b", /expected ";" or the end, found "\/"/],
  ],
  "chunk-ext-val = token / quoted-string": [
    ["5;a=", /neither a token nor a quoted string/],
    ["5;a= ", /neither a token nor a quoted string/],
    ["5;a==b", /neither a token nor a quoted string/],
    ["5;a=@", /neither a token nor a quoted string/],
    ["5;a=\xe9", /neither a token nor a quoted string/],
    ["5;a=b c", /expected ";" or the end, found "c"/],
    ["5;a=b=c", /expected ";" or the end, found "="/],
    ['5;a=b"c"', /expected ";" or the end, found "\\""/],
    ['5;a="b"c', /expected ";" or the end, found "c"/],
    ['5;a="b', /a quoted chunk extension value is not closed/],
    ['5;a="b\\"', /a quoted chunk extension value is not closed/],
    ['5;a="', /a quoted chunk extension value is not closed/],
  ],
  "no control characters but HTAB": [
    ['5;a="\0"', /chunk size line contains the control character 0x00/],
    ["5;a\x7f", /chunk size line contains the control character 0x7f/],
    ["5\r", /chunk size line contains the control character 0x0d/],
    ['5;a="\\\x01"', /control character 0x01/],
  ],
};

Deno.test("parseChunkLine() accepts every form the grammar allows", async (t) => {
  for (const [rule, lines] of Object.entries(VALID)) {
    await t.step(rule, async () => {
      for (const line of lines) {
        // Control characters are refused before parsing: the lines here
        // have none, so each parses on its own too.
        assert.equal(parseChunkLine(line).size, 5, JSON.stringify(line));
        const { body } = await decodes(withLine(line));
        assert.equal(body, "hello", JSON.stringify(line));
      }
    });
  }
});

Deno.test("ChunkedDecoder refuses every chunk line the grammar does not allow", async (t) => {
  for (const [rule, cases] of Object.entries(INVALID)) {
    await t.step(rule, async () => {
      for (const [line, message] of cases) {
        await refuses(withLine(line), Deno.errors.InvalidData, message);
      }
    });
  }
});

Deno.test("parseChunkLine() reads the size in hexadecimal and counts the extensions", () => {
  assert.deepEqual(parseChunkLine("0"), { size: 0, extensions: 0 });
  assert.deepEqual(parseChunkLine("fF"), { size: 255, extensions: 0 });
  assert.deepEqual(parseChunkLine("1a2B"), { size: 0x1a2b, extensions: 0 });
  assert.deepEqual(parseChunkLine("10 ; a=b"), { size: 16, extensions: 6 });
  // 13 hex digits (2^52 - 1) is the largest; leading zeros do not count.
  assert.equal(parseChunkLine("fffffffffffff").size, 2 ** 52 - 1);
  assert.equal(parseChunkLine("0000fffffffffffff").size, 2 ** 52 - 1);
  assert.throws(
    () => parseChunkLine("10000000000000"),
    (error: Error) =>
      error instanceof Deno.errors.InvalidData &&
      /^chunk size "10000000000000" is too large$/.test(error.message),
  );
});

Deno.test("ChunkedDecoder decodes chunks under every chunking and stops at the body's end", async () => {
  const { body, rest } = await decodes(
    "5\r\nhello\r\n1;x=y\r\n,\r\n06\r\n world\r\n0\r\n\r\nNEXT",
  );
  assert.equal(body, "hello, world");
  assert.equal(rest, "NEXT");
});

Deno.test("ChunkedDecoder reads a last chunk of several zeros with extensions", async () => {
  assert.equal((await decodes('000;a="b"\r\n\r\n')).body, "");
  assert.equal((await decodes("2\r\nhi\r\n0 ;end\r\n\r\n")).body, "hi");
});

Deno.test("ChunkedDecoder hands out binary chunk data as it is", async () => {
  const data = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i))
    .join("");
  const { body } = await decodes(`100\r\n${data}\r\n0\r\n\r\n`);
  assert.equal(body, data);
});

Deno.test("ChunkedDecoder wants CRLF after the chunk size line (RFC 9112, section 7.1)", async () => {
  await refuses(
    "5\nhello\r\n0\r\n\r\n",
    Deno.errors.InvalidData,
    /^malformed chunk size line "5": it ends in a bare LF, not CRLF$/,
  );
  await refuses(
    "5\r\nhello\r\n0\n\r\n",
    Deno.errors.InvalidData,
    /malformed chunk size line "0": it ends in a bare LF/,
  );
});

Deno.test("ChunkedDecoder wants CRLF after chunk data", async (t) => {
  for (const after of ["XX", "\n0", "\r0", "\r\r", "hello"]) {
    await t.step(JSON.stringify(after), async () => {
      await refuses(
        `5\r\nhello${after}\r\n0\r\n\r\n`,
        Deno.errors.InvalidData,
        /^chunk data is not followed by CRLF after 5 bytes$/,
      );
    });
  }
});

Deno.test("ChunkedDecoder reads the trailer section as fields and drops it", async () => {
  const { body, rest } = await decodes(
    "2\r\nhi\r\n0\r\nX-Sum: 1\r\nX-Other: a\r\n  folded\r\n\r\nNEXT",
  );
  assert.equal(body, "hi");
  assert.equal(rest, "NEXT");
  await refuses(
    "0\r\nBad Name: 1\r\n\r\n",
    Deno.errors.InvalidData,
    /^malformed field line "Bad Name: 1"$/,
  );
  await refuses(
    "0\r\n X: 1\r\n\r\n",
    Deno.errors.InvalidData,
    /^the trailer section starts with whitespace$/,
  );
  await refuses(
    `0\r\n${"X: 1\r\n".repeat(101)}\r\n`,
    LimitExceededError,
    /^the trailer section has more than 100 fields$/,
  );
});

Deno.test("ChunkedDecoder fails on a body cut short, saying where", async (t) => {
  const cases: [string, RegExp][] = [
    ["", /^chunked body ended after 0 bytes, before the final chunk$/],
    ["5", /^chunked body ended after 0 bytes, before the final chunk$/],
    ["5\r\nhel", /^chunked body ended after 3 bytes, in a chunk of 5$/],
    [
      "5\r\nhello",
      /^chunked body ended after 5 bytes, before the final chunk$/,
    ],
    [
      "5\r\nhello\r",
      /^chunked body ended after 5 bytes, before the final chunk$/,
    ],
    [
      "5\r\nhello\r\n",
      /^chunked body ended after 5 bytes, before the final chunk$/,
    ],
    ["0\r\n", /^the connection closed in the middle of the trailer section$/],
    ["0\r\nX: 1\r\n", /in the middle of the trailer section$/],
  ];
  for (const [text, message] of cases) {
    await t.step(JSON.stringify(text), async () => {
      await refuses(text, Deno.errors.UnexpectedEof, message);
    });
  }
});

Deno.test("ChunkedDecoder bounds chunk lines and extensions", async (t) => {
  await t.step("a chunk line of 4096 bytes is the longest", async () => {
    const line = `5;a=${"x".repeat(4096 - 6)}`;
    assert.equal((await decodes(withLine(line))).body, "hello");
    await refuses(
      withLine(`${line}x`),
      LimitExceededError,
      /^a chunk size line is longer than 4096 bytes$/,
    );
  });
  await t.step("extensions take at most 64 KiB in all", async () => {
    const chunk = `1;${"e".repeat(1000)}\r\nx\r\n`;
    const { body } = await decodes(`${chunk.repeat(65)}0\r\n\r\n`);
    assert.equal(body.length, 65);
    await refuses(
      `${chunk.repeat(66)}0\r\n\r\n`,
      LimitExceededError,
      /^chunk extensions take more than 65536 bytes$/,
    );
  });
});

Deno.test("ChunkedDecoder passes on errors from the source", async () => {
  const broken = new Error("broken pipe");
  await assert.rejects(
    drain(fixedReader(failing("5\r\nhel", broken))),
    (error) => error === broken,
  );
});

Deno.test("ChunkedDecoder reads nothing past the body's end", async () => {
  // One byte per read, and an error for a read past the body: the decoder
  // must not ask for it.
  const body = latin1("3\r\nabc\r\n0\r\nX: 1\r\n\r\n");
  const inner = pieces(body, 1);
  let read = 0;
  const reader = fixedReader({
    read: async (p) => {
      if (read === body.length) throw new Error("read past the body");
      const n = await inner.read(p);
      read += n ?? 0;
      return n;
    },
  });
  assert.equal(await drain(reader), "abc");
  assert.equal(read, body.length);
});
