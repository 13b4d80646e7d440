// Copyright 2026 the tcp authors. MIT license.
/**
 * The downloader under test: `fetchToFile` from `@netkit/tcp/http-fetch`.
 *
 *   deno run --allow-net --allow-read --allow-write fetch_to_file.ts URL PATH [MODULE_DIR]
 *
 * MODULE_DIR, if given, is another copy of the module to load instead of
 * this checkout's (`deno task bench --candidate DIR`).
 *
 * @module
 */

type FetchToFile = (url: string, path: string) => Promise<unknown>;

// Imported by a computed specifier so that `deno check .` passes in a
// checkout that does not have http_fetch.ts yet; bench/main.ts only runs this
// script once the file exists.
const [url, path, dir] = Deno.args;
const specifier = dir === undefined
  ? new URL("../../http_fetch.ts", import.meta.url).href
  : new URL(`file://${dir}/http_fetch.ts`).href;
const { fetchToFile } = await import(specifier) as { fetchToFile: FetchToFile };

await fetchToFile(url!, path!);
