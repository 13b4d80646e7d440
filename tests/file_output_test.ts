// Copyright 2026 the tcp authors. MIT license.
// The file side of fetchToFile on its own: temporary file, sync and rename,
// never over an existing file unless allowed, and partial downloads kept
// only when they can be resumed.
import assert from "node:assert/strict";
import { FileOutput, readPartial } from "../_file_output.ts";

const URL_A = "http://h/a";
const bytes = (text: string) => new TextEncoder().encode(text);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "file_output_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listing(dir: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Writes `text` as a whole download, failing or committing at the end. */
async function download(
  output: FileOutput,
  text: string,
  about = { validator: '"v1"' as string | undefined, total: undefined },
  finish: "commit" | "abandon" = "commit",
): Promise<void> {
  await output.loadPartial(URL_A);
  await output.open(output.partial !== undefined, about);
  await output.write(bytes(text));
  if (finish === "commit") await output.commit();
  else await output.abandon();
}

Deno.test("FileOutput writes beside the target and renames it into place", async () => {
  await withDir(async (dir) => {
    const output = new FileOutput(`${dir}/out`, {
      resume: false,
      overwrite: true,
    });
    await output.loadPartial(URL_A);
    await output.open(false, { validator: undefined, total: 5 });
    await output.write(bytes("hello"));
    const [temporary] = await listing(dir);
    assert.match(temporary!, /^\.out\.[0-9a-f]{12}\.tmp$/);
    await output.commit();
    assert.deepEqual(await listing(dir), ["out"]);
    assert.equal(await Deno.readTextFile(`${dir}/out`), "hello");
  });
});

Deno.test("FileOutput leaves nothing behind when abandoned", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/out`, "precious");
    const output = new FileOutput(`${dir}/out`, {
      resume: false,
      overwrite: true,
    });
    await download(output, "new", undefined, "abandon");
    assert.deepEqual(await listing(dir), ["out"]);
    assert.equal(await Deno.readTextFile(`${dir}/out`), "precious");
  });
});

Deno.test("FileOutput never replaces a file without overwrite", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/out`, "old");
    const output = new FileOutput(`${dir}/out`, {
      resume: false,
      overwrite: false,
    });
    await assert.rejects(
      download(output, "new"),
      (error: Error) =>
        error instanceof Deno.errors.AlreadyExists &&
        error.message === `cannot save "${dir}/out": the file already exists`,
    );
    await output.abandon();
    assert.deepEqual(await listing(dir), ["out"]);
    assert.equal(await Deno.readTextFile(`${dir}/out`), "old");
  });
});

Deno.test("FileOutput keeps a failed download with a validator, and continues it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/out`;
    const options = { resume: true, overwrite: true };
    await download(new FileOutput(path, options), "hel", {
      validator: '"v1"',
      total: undefined,
    }, "abandon");
    assert.deepEqual(await listing(dir), ["out.part", "out.part.json"]);
    assert.deepEqual(await readPartial(path), {
      url: URL_A,
      validator: '"v1"',
      total: undefined,
      size: 3,
    });
    const output = new FileOutput(path, options);
    await output.loadPartial(URL_A);
    assert.deepEqual(output.partial, {
      size: 3,
      validator: '"v1"',
      total: undefined,
    });
    await output.open(true, { validator: '"v1"', total: undefined });
    await output.write(bytes("lo"));
    await output.commit();
    assert.deepEqual(await listing(dir), ["out"]);
    assert.equal(await Deno.readTextFile(path), "hello");
  });
});

Deno.test("FileOutput keeps nothing that could not be resumed", async (t) => {
  await t.step("no validator", async () => {
    await withDir(async (dir) => {
      await download(
        new FileOutput(`${dir}/out`, { resume: true, overwrite: true }),
        "hel",
        { validator: undefined, total: undefined },
        "abandon",
      );
      assert.deepEqual(await listing(dir), []);
    });
  });
  await t.step("another URL's partial file", async () => {
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/out.part`, "abc");
      await Deno.writeTextFile(
        `${dir}/out.part.json`,
        JSON.stringify({ url: "http://h/other", validator: '"v1"' }),
      );
      const output = new FileOutput(`${dir}/out`, {
        resume: true,
        overwrite: true,
      });
      await output.loadPartial(URL_A);
      assert.equal(output.partial, undefined);
      assert.deepEqual(await listing(dir), []);
    });
  });
});

Deno.test("readPartial() finds only a partial file that can be continued", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/out`;
    assert.equal(await readPartial(path), undefined);
    await Deno.writeTextFile(`${path}.part`, "abc");
    await Deno.writeTextFile(`${path}.part.json`, "{not json");
    assert.equal(await readPartial(path), undefined);
    await Deno.writeTextFile(
      `${path}.part.json`,
      JSON.stringify({ url: URL_A }),
    );
    assert.equal(await readPartial(path), undefined);
    await Deno.writeTextFile(
      `${path}.part.json`,
      JSON.stringify({ url: URL_A, validator: '"v"', total: "many" }),
    );
    assert.equal(await readPartial(path), undefined);
    await Deno.writeTextFile(
      `${path}.part.json`,
      JSON.stringify({ url: URL_A, validator: '"v"', total: 9 }),
    );
    assert.deepEqual(await readPartial(path), {
      url: URL_A,
      validator: '"v"',
      total: 9,
      size: 3,
    });
    await Deno.writeTextFile(`${path}.part`, "");
    assert.equal(await readPartial(path), undefined);
  });
});

Deno.test("FileOutput refuses to append to a partial file that changed meanwhile", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/out`;
    const options = { resume: true, overwrite: true };
    await download(new FileOutput(path, options), "hel", undefined, "abandon");
    const output = new FileOutput(path, options);
    await output.loadPartial(URL_A);
    await Deno.writeTextFile(`${path}.part`, "more", { append: true });
    await assert.rejects(
      output.open(true, { validator: '"v1"', total: undefined }),
      (error: Error) =>
        /^cannot save ".*out": ".*out\.part" changed while resuming$/.test(
          error.message,
        ),
    );
    await output.abandon();
  });
});
