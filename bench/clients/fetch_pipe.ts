// Copyright 2026 the tcp authors. MIT license.
/**
 * The download baseline: Deno's `fetch` with the body piped into a file, as
 * the Deno docs write it.
 *
 *   deno run --allow-net --allow-write fetch_pipe.ts URL PATH
 *
 * @module
 */

const [url, path] = Deno.args;
const r = await fetch(url!);
await r.body!.pipeTo(
  (await Deno.open(path!, { write: true, create: true, truncate: true }))
    .writable,
);
