// Copyright 2026 the tcp authors. MIT license.
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { NAME, VERSION } from "../_version.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("the version is deno.json's, and semver", () => {
  assert.equal(VERSION, config.version);
  assert.equal(NAME, config.name);
  assert.match(VERSION, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
});

Deno.test("no source file repeats deno.json's version", async () => {
  const literal = new RegExp(
    `(?<![\\d.])${VERSION.replaceAll(".", "\\.")}(?![\\d.])`,
  );
  const repeats: string[] = [];
  async function scan(dir: URL, path: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".") && entry.name !== ".ci") continue;
      if (entry.name === "node_modules") continue;
      const url = new URL(
        entry.isDirectory ? `${entry.name}/` : entry.name,
        dir,
      );
      if (entry.isDirectory) {
        await scan(url, `${path}${entry.name}/`);
      } else if (/\.(ts|js|c)$|^run$/.test(entry.name)) {
        const text = await Deno.readTextFile(url);
        if (literal.test(text)) repeats.push(`${path}${entry.name}`);
      }
    }
  }
  await scan(ROOT, "");
  assert.deepEqual(repeats, [], `${VERSION} is written out in these files`);
});
