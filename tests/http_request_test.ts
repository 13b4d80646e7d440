// Copyright 2026 the tcp authors. MIT license.
// The request side on its own: URLs, caller fields and the bytes of the GET.
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import {
  checkHeaders,
  encodeRequest,
  originOf,
  parseUrl,
  USER_AGENT,
} from "../_http_request.ts";

const decode = (bytes: Uint8Array) => String.fromCharCode(...bytes);

Deno.test("parseUrl() takes http: and https: URLs and drops the fragment", () => {
  assert.equal(parseUrl("http://h/a?b#c").href, "http://h/a?b");
  assert.equal(parseUrl(new URL("https://h:8443/")).href, "https://h:8443/");
  for (
    const [input, message] of [
      ["not a url", /^invalid URL$/],
      ["ftp://h/x", /^only http: and https: URLs are supported$/],
      ["file:///etc/passwd", /^only http: and https:/],
      ["http://user:pass@h/", /^credentials in the URL are not supported/],
    ] as const
  ) {
    assert.throws(
      () => parseUrl(input),
      (error: Error) =>
        error instanceof TypeError && message.test(error.message),
    );
  }
});

Deno.test("originOf() is the scheme, host and port", () => {
  assert.equal(originOf(new URL("http://h/a")), "http://h");
  assert.equal(originOf(new URL("http://h:80/a")), "http://h");
  assert.equal(originOf(new URL("https://h:8443/a")), "https://h:8443");
});

Deno.test("checkHeaders() takes records, pairs and Headers, values trimmed", () => {
  assert.deepEqual(checkHeaders(undefined), []);
  assert.deepEqual(checkHeaders({ "X-A": " 1 " }), [["X-A", "1"]]);
  assert.deepEqual(checkHeaders([["X-B", "2"]]), [["X-B", "2"]]);
  assert.deepEqual(checkHeaders(new Headers({ "X-C": "3" })), [["x-c", "3"]]);
  // obs-text and HTAB are field-value bytes.
  assert.deepEqual(checkHeaders({ "X-D": "caf\xe9\tau lait" }), [
    ["X-D", "caf\xe9\tau lait"],
  ]);
});

Deno.test("checkHeaders() refuses what cannot be sent as a field", async (t) => {
  const cases: [HeadersInit, RegExp][] = [
    [{ "X-A": "b\r\nEvil: 1" }, /^header "X-A" contains CR, LF or NUL$/],
    [{ "X-A": "b\0" }, /contains CR, LF or NUL/],
    [[["X-A\nB", "1"]], /contains CR, LF or NUL/],
    [{ "Bad Name": "1" }, /^invalid header name "Bad Name"$/],
    [{ "": "1" }, /^invalid header name ""$/],
    [{ "X-(A)": "1" }, /^invalid header name/],
    [{ "X-A": "\x01" }, /^header "X-A" has an invalid value/],
    [{ "X-A": "\x7f" }, /has an invalid value/],
    [{ "X-A": "\u0100" }, /has an invalid value/],
    [{ Host: "h" }, /^header "Host" is set by fetchToFile itself$/],
    [{ "content-length": "1" }, /is set by fetchToFile itself/],
    [{ Range: "bytes=0-" }, /is set by fetchToFile itself/],
    [[["X-A", "1", "2"]] as unknown as HeadersInit, /a name and a value/],
  ];
  for (const [init, message] of cases) {
    await t.step(JSON.stringify(init), () => {
      assert.throws(
        () => checkHeaders(init),
        (error: Error) =>
          error instanceof TypeError && message.test(error.message),
      );
    });
  }
});

Deno.test("encodeRequest() writes a GET with our fields, then its own, then the caller's", () => {
  const url = new URL("http://h:8080/a%20b?q=1");
  assert.equal(
    decode(encodeRequest(url, [["Range", "bytes=5-"]], [["X-A", "1"]])),
    "GET /a%20b?q=1 HTTP/1.1\r\nHost: h:8080\r\n" +
      `User-Agent: netkit-tcp/${config.version}\r\n` +
      "Accept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n" +
      "Range: bytes=5-\r\nX-A: 1\r\n\r\n",
  );
  assert.equal(USER_AGENT, `netkit-tcp/${config.version}`);
});

Deno.test("encodeRequest() lets the caller replace User-Agent, Accept and Accept-Encoding", () => {
  const head = decode(
    encodeRequest(new URL("http://h/"), [], [
      ["user-agent", "mine"],
      ["Accept", "text/html"],
      ["Accept-Encoding", "gzip"],
    ]),
  );
  assert.equal(
    head,
    "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n" +
      "user-agent: mine\r\nAccept: text/html\r\nAccept-Encoding: gzip\r\n\r\n",
  );
});

Deno.test("encodeRequest() sends obs-text as Latin-1 bytes", () => {
  const bytes = encodeRequest(new URL("http://h/"), [], [["X", "\xe9"]]);
  assert.ok(bytes.includes(0xe9));
  assert.ok(!bytes.includes(0xc3));
});
