// Copyright 2026 the tcp authors. MIT license.
// The response head parser on byte fixtures, without sockets: status lines,
// field lines, interim responses and framing, each under every chunking.
import assert from "node:assert/strict";
import { BufferedReader, LimitExceededError } from "../_buffered_reader.ts";
import {
  framingOf,
  lineReader,
  readFinalHead,
  readHead,
  type ResponseHead,
} from "../_http_response.ts";
import { CHUNKINGS, pieces } from "./_byte_sources.ts";

type ErrorClass = abstract new (...args: never[]) => Error;

/** Parses `text` as a head under every chunking; all must agree. */
async function parse(text: string): Promise<ResponseHead> {
  let first: ResponseHead | undefined;
  for (const [, source] of CHUNKINGS) {
    const head = await readHead(lineReader(new BufferedReader(source(text))));
    if (first === undefined) first = head;
    else assert.deepEqual(head, first);
  }
  return first!;
}

/** Expects `text` to be refused as a head under every chunking. */
async function refuses(
  text: string,
  errorClass: ErrorClass,
  message: RegExp,
): Promise<void> {
  for (const [name, source] of CHUNKINGS) {
    await assert.rejects(
      readHead(lineReader(new BufferedReader(source(text)))),
      (error: Error) => {
        assert.ok(error instanceof errorClass, `${name}: ${error}`);
        assert.match(error.message, message, name);
        // Context is fetchToFile's to add, once.
        assert.ok(!error.message.startsWith("Cannot"), error.message);
        return true;
      },
    );
  }
}

Deno.test("readHead() reads the status line and the fields", async () => {
  const head = await parse(
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two:  a, b \r\n\r\nbody",
  );
  assert.deepEqual(head, {
    version: "HTTP/1.1",
    status: 200,
    statusText: "OK",
    fields: [["content-type", "text/plain"], ["x-two", "a, b"]],
  });
});

Deno.test("readHead() leaves the body in the reader", async () => {
  const reader = new BufferedReader(pieces("HTTP/1.0 204 \r\n\r\nrest", 3));
  const head = await readHead(lineReader(reader));
  assert.equal(head.statusText, "");
  assert.equal(new TextDecoder().decode((await reader.read())!), "r");
});

Deno.test("readHead() reads HTTP/1.x above 1.1 as 1.1 (RFC 9110, section 2.5)", async (t) => {
  for (const minor of ["2", "5", "9"]) {
    await t.step(`HTTP/1.${minor}`, async () => {
      const head = await parse(`HTTP/1.${minor} 200 OK\r\n\r\n`);
      assert.equal(head.version, "HTTP/1.1");
      assert.equal(head.status, 200);
    });
  }
  assert.equal((await parse("HTTP/1.0 200 OK\r\n\r\n")).version, "HTTP/1.0");
});

Deno.test("readHead() refuses a version that is not HTTP/1.x", async (t) => {
  for (
    const line of [
      "HTTP/2.0 200 OK",
      "HTTP/0.9 200 OK",
      "HTTP/1.10 200 OK",
      "HTTP/1 200 OK",
      "HTTP/1. 200 OK",
      "HTTP/1.a 200 OK",
      "http/1.1 200 OK",
      "HTTPS/1.1 200 OK",
      " HTTP/1.1 200 OK",
    ]
  ) {
    await t.step(JSON.stringify(line), async () => {
      await refuses(
        `${line}\r\n\r\n`,
        Deno.errors.InvalidData,
        /^malformed status line/,
      );
    });
  }
});

Deno.test("readHead() refuses malformed status codes", async (t) => {
  for (
    const line of [
      "HTTP/1.1 20 OK",
      "HTTP/1.1 2000 OK",
      "HTTP/1.1 099 Low",
      "HTTP/1.1 600 High",
      "HTTP/1.1  200 OK",
      "HTTP/1.1 2x0 OK",
      "HTTP/1.1",
    ]
  ) {
    await t.step(JSON.stringify(line), async () => {
      await refuses(
        `${line}\r\n\r\n`,
        Deno.errors.InvalidData,
        /^malformed status line/,
      );
    });
  }
});

Deno.test("readHead() takes a bare LF for CRLF, as RFC 9112 section 2.2 allows", async () => {
  const head = await parse("HTTP/1.1 200 OK\nA: 1\n\n");
  assert.deepEqual(head.fields, [["a", "1"]]);
});

Deno.test("readHead() joins obs-fold lines with a space (RFC 9112, section 5.2)", async () => {
  const head = await parse(
    "HTTP/1.1 200 OK\r\nA: one\r\n  two\r\n\tthree\r\n\r\n",
  );
  assert.deepEqual(head.fields, [["a", "one two three"]]);
});

Deno.test("readHead() refuses malformed field lines", async (t) => {
  const cases: [string, RegExp][] = [
    ["Bad Name: x", /^malformed field line "Bad Name: x"$/],
    ["X-A : x", /^malformed field line/],
    [": x", /^malformed field line/],
    ["no colon", /^malformed field line/],
    ["X(A): x", /^malformed field line/],
    ["X-A: a\rb", /control character 0x0d/],
    ["X-A: a\0b", /control character 0x00/],
    ["X-A: a\x7fb", /control character 0x7f/],
    [" folded", /starts with whitespace/],
  ];
  for (const [line, message] of cases) {
    await t.step(JSON.stringify(line), async () => {
      await refuses(
        `HTTP/1.1 200 OK\r\n${line}\r\n\r\n`,
        Deno.errors.InvalidData,
        message,
      );
    });
  }
});

Deno.test("readHead() accepts obs-text in field values and the reason phrase", async () => {
  const head = await parse("HTTP/1.1 200 \xe9t\xe9\r\nX-A: caf\xe9\r\n\r\n");
  assert.equal(head.statusText, "\xe9t\xe9");
  assert.deepEqual(head.fields, [["x-a", "caf\xe9"]]);
});

Deno.test("readHead() bounds the head", async (t) => {
  await t.step("by field count", async () => {
    await refuses(
      `HTTP/1.1 200 OK\r\n${"A: 1\r\n".repeat(101)}\r\n`,
      LimitExceededError,
      /^the response header section has more than 100 fields$/,
    );
  });
  await t.step("by size", async () => {
    await refuses(
      `HTTP/1.1 200 OK\r\nA: ${"x".repeat(70_000)}\r\n\r\n`,
      LimitExceededError,
      /^the response header section is larger than 65536 bytes$/,
    );
  });
  assert.equal(
    (await parse(`HTTP/1.1 200 OK\r\n${"A: 1\r\n".repeat(100)}\r\n`)).fields
      .length,
    100,
  );
});

Deno.test("readHead() fails on a head cut short", async (t) => {
  await t.step("before any byte", async () => {
    await refuses(
      "",
      Deno.errors.UnexpectedEof,
      /^the server closed the connection without a response$/,
    );
  });
  for (
    const text of [
      "HTTP/1.1 200",
      "HTTP/1.1 200 OK\r\n",
      "HTTP/1.1 200 OK\r\nA: 1\r\n",
    ]
  ) {
    await t.step(JSON.stringify(text), async () => {
      await refuses(
        text,
        Deno.errors.UnexpectedEof,
        /in the middle of the response header section/,
      );
    });
  }
});

Deno.test("readFinalHead() skips interim responses, up to ten", async () => {
  const interim =
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n";
  const head = await readFinalHead(
    lineReader(new BufferedReader(pieces(`${interim}HTTP/1.1 200 OK\r\n\r\n`))),
  );
  assert.equal(head.status, 200);
  const flood = "HTTP/1.1 100 Continue\r\n\r\n".repeat(11) +
    "HTTP/1.1 200 OK\r\n\r\n";
  await assert.rejects(
    readFinalHead(lineReader(new BufferedReader(pieces(flood)))),
    LimitExceededError,
  );
  const ten = "HTTP/1.1 100 Continue\r\n\r\n".repeat(10) +
    "HTTP/1.1 200 OK\r\n\r\n";
  assert.equal(
    (await readFinalHead(lineReader(new BufferedReader(pieces(ten))))).status,
    200,
  );
});

Deno.test("readFinalHead() refuses a switch of protocols nobody asked for", async () => {
  await assert.rejects(
    readFinalHead(
      lineReader(
        new BufferedReader(pieces("HTTP/1.1 101 Switching Protocols\r\n\r\n")),
      ),
    ),
    Deno.errors.InvalidData,
  );
});

Deno.test("framingOf() follows RFC 9112 section 6.3", async (t) => {
  const framing = async (text: string) => framingOf(await parse(text));
  await t.step("204 and 304 have no body", async () => {
    assert.deepEqual(
      await framing("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
      { kind: "none" },
    );
    assert.deepEqual(await framing("HTTP/1.1 304 Not Modified\r\n\r\n"), {
      kind: "none",
    });
  });
  await t.step("chunked wins over Content-Length", async () => {
    assert.deepEqual(
      await framing(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: Chunked\r\n\r\n",
      ),
      { kind: "chunked" },
    );
  });
  await t.step("repeated equal lengths are one length", async () => {
    assert.deepEqual(
      await framing(
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
      ),
      { kind: "length", length: 5 },
    );
  });
  await t.step("without either, the body runs to the close", async () => {
    assert.deepEqual(await framing("HTTP/1.1 200 OK\r\n\r\n"), {
      kind: "close",
    });
  });
  for (
    const [fields, message] of [
      ["Content-Length: 5\r\nContent-Length: 6", /conflicting/],
      ["Content-Length: +5", /malformed "Content-Length"/],
      ["Content-Length: 1234567890123456", /malformed "Content-Length"/],
      ["Transfer-Encoding: gzip, chunked", /unsupported transfer coding/],
      ["Transfer-Encoding: chunked, chunked", /unsupported transfer coding/],
    ] as const
  ) {
    await t.step(`refuses ${JSON.stringify(fields)}`, async () => {
      await assert.rejects(
        framing(`HTTP/1.1 200 OK\r\n${fields}\r\n\r\n`),
        (error: Error) =>
          error instanceof Deno.errors.InvalidData &&
          message.test(error.message),
      );
    });
  }
  await t.step("refuses Transfer-Encoding in HTTP/1.0", async () => {
    await assert.rejects(
      framing("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
      Deno.errors.InvalidData,
    );
  });
});
