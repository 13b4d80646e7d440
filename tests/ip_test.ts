// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../_ip.ts";

Deno.test("parseIPv4() takes strict dotted quads only", () => {
  assert.equal(parseIPv4("1.2.3.4"), 0x01020304);
  assert.equal(parseIPv4("0.0.0.0"), 0);
  assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
  for (
    const bad of [
      "256.1.1.1",
      "01.1.1.1",
      "1.1.1.00",
      "1.1.1",
      "1.1.1.1.",
      "1..1.1",
      " 1.1.1.1",
      "1.1.1.1 ",
      "1.1.1.0x1",
      "1.1.1.-1",
      "",
      "1.2.3.4/8",
    ]
  ) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
  assert.equal(formatIPv4(0xc0000201), "192.0.2.1");
});

Deno.test("parseIPv6() takes the RFC 4291 text forms and formatIPv6() writes RFC 5952 ones", () => {
  const cases: [string, string][] = [
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:0:0:2:0:0:3", "1::2:0:0:3"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
    ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
    ["0:0:0:0:0:ffff:7f00:1", "::ffff:127.0.0.1"],
    ["0000:0000:0000:0000:0000:ffff:255.255.255.255", "::ffff:255.255.255.255"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
    ["::1.2.3.4", "::102:304"],
  ];
  for (const [text, formatted] of cases) {
    const bytes = parseIPv6(text);
    assert.ok(bytes, text);
    assert.equal(formatIPv6(bytes), formatted, text);
    assert.deepEqual(parseIPv6(formatted), bytes, formatted);
  }
  for (
    const bad of [
      "",
      ":",
      ":::",
      "1:::2",
      "1::2::3",
      ":1",
      "1:",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7::8",
      "1.2.3.4",
      "::ffff:01.2.3.4",
      "::1.2.3.4.5",
      "::1.2.3",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::1.2.3.4:1",
      "::1%eth0",
      "[::1]",
      "g::",
      " ::1",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});
