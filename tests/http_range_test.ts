// Copyright 2026 the tcp authors. MIT license.
// The resume checks on their own: validators, the range asked for, and what
// a 206 must say before its bytes are appended.
import assert from "node:assert/strict";
import {
  extentOf,
  type PartialFile,
  rangeFields,
  validatorOf,
} from "../_http_range.ts";
import type { Framing, ResponseHead } from "../_http_response.ts";

function head(status: number, fields: Record<string, string>): ResponseHead {
  return {
    version: "HTTP/1.1",
    status,
    statusText: "",
    fields: Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]),
  };
}

const partial: PartialFile = { size: 1000, validator: '"v1"', total: 5000 };
const length = (n: number): Framing => ({ kind: "length", length: n });

Deno.test("rangeFields() asks for the rest of the partial file, if any", () => {
  assert.deepEqual(rangeFields(undefined), []);
  assert.deepEqual(rangeFields(partial), [
    ["Range", "bytes=1000-"],
    ["If-Range", '"v1"'],
  ]);
});

Deno.test("validatorOf() takes a strong ETag, or a Last-Modified a second before Date", () => {
  assert.equal(validatorOf(head(200, { ETag: '"abc"' })), '"abc"');
  assert.equal(validatorOf(head(200, { ETag: 'W/"abc"' })), undefined);
  assert.equal(validatorOf(head(200, { ETag: "abc" })), undefined);
  assert.equal(validatorOf(head(200, {})), undefined);
  const modified = "Tue, 01 Jan 2030 00:00:00 GMT";
  assert.equal(
    validatorOf(head(200, {
      "Last-Modified": modified,
      Date: "Tue, 01 Jan 2030 00:00:01 GMT",
    })),
    modified,
  );
  // Changed within the second it was sent: not reliable (RFC 9110, 13.1.5).
  assert.equal(
    validatorOf(head(200, { "Last-Modified": modified, Date: modified })),
    undefined,
  );
  assert.equal(
    validatorOf(head(200, { "Last-Modified": modified })),
    undefined,
  );
});

Deno.test("extentOf() starts the file over for a 200", () => {
  assert.deepEqual(extentOf(head(200, {}), length(7), partial), {
    offset: 0,
    length: undefined,
    total: 7,
  });
  assert.deepEqual(extentOf(head(200, {}), { kind: "close" }, undefined), {
    offset: 0,
    length: undefined,
    total: undefined,
  });
  assert.deepEqual(extentOf(head(204, {}), { kind: "none" }, undefined), {
    offset: 0,
    length: undefined,
    total: 0,
  });
});

Deno.test("extentOf() continues the partial file with a matching 206", () => {
  const ok = head(206, {
    "Content-Range": "bytes 1000-4999/5000",
    ETag: '"v1"',
  });
  assert.deepEqual(extentOf(ok, length(4000), partial), {
    offset: 1000,
    length: 4000,
    total: 5000,
  });
  const unknownTotal = head(206, { "Content-Range": "bytes 1000-4999/*" });
  assert.deepEqual(extentOf(unknownTotal, { kind: "chunked" }, partial), {
    offset: 1000,
    length: 4000,
    total: 5000,
  });
});

Deno.test("extentOf() refuses a 206 that does not continue the partial file", async (t) => {
  const cases: [Record<string, string>, Framing, RegExp][] = [
    [
      {},
      length(4000),
      /^wrong "Content-Range" "": expected "bytes 1000-…\/…"$/,
    ],
    [{ "Content-Range": "bytes=1000-4999/5000" }, length(4000), /expected/],
    [
      { "Content-Range": "bytes 0-3999/5000" },
      length(4000),
      /asked for the bytes from 1000$/,
    ],
    [
      { "Content-Range": "bytes 1000-3999/5000" },
      length(3000),
      /does not run to the end of the file$/,
    ],
    [
      { "Content-Range": "bytes 1000-999/5000" },
      length(0),
      /does not run to the end of the file$/,
    ],
    [
      { "Content-Range": "bytes 1000-5999/6000" },
      length(5000),
      /the file was 5000 bytes before$/,
    ],
    [
      { "Content-Range": "bytes 1000-4999/5000", ETag: '"v2"' },
      length(4000),
      /^the server sent part of "\\"v2\\"" for "If-Range: "v1""$/,
    ],
    [
      { "Content-Range": "bytes 1000-4999/5000" },
      length(10),
      /^"Content-Length: 10" does not match "Content-Range" for 4000 bytes$/,
    ],
  ];
  for (const [fields, framing, message] of cases) {
    await t.step(JSON.stringify(fields), () => {
      assert.throws(
        () => extentOf(head(206, fields), framing, partial),
        (error: Error) =>
          error instanceof Deno.errors.InvalidData &&
          message.test(error.message),
      );
    });
  }
  await t.step("a 206 nobody asked for", () => {
    assert.throws(
      () =>
        extentOf(
          head(206, { "Content-Range": "bytes 0-9/10" }),
          length(10),
          undefined,
        ),
      /partial response \(206\) that was not asked for/,
    );
  });
});
