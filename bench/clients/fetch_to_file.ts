// Copyright 2026 the tcp authors. MIT license.
/**
 * The downloader under test: `fetchToFile` from `@netkit/tcp/http-fetch`.
 *
 *   deno run --allow-net --allow-read --allow-write fetch_to_file.ts URL PATH
 *
 * @module
 */

type FetchToFile = (url: string, path: string) => Promise<unknown>;

// Imported by a computed specifier so that `deno check .` passes in a
// checkout that does not have http_fetch.ts yet; bench/main.ts only runs this
// script once the file exists.
const specifier = new URL("../../http_fetch.ts", import.meta.url).href;
const { fetchToFile } = await import(specifier) as { fetchToFile: FetchToFile };

const [url, path] = Deno.args;
await fetchToFile(url!, path!);
