// Copyright 2026 the tcp authors. MIT license.
// fetchToFile against a server it did not grow up with: Debian's nginx over
// TLS, serving a file with a length (and a strong ETag, and ranges) and the
// same file chunked (sub_filter drops the length, so nginx frames the body
// in chunks of its own sizes).
//
// .ci/run installs nginx; without it the test is ignored and says why.

import assert from "node:assert/strict";
import { TcpClient } from "../mod.ts";
import { type FetchProgress, fetchToFile } from "../http_fetch.ts";
import {
  closedPort,
  type ExampleProcess,
  findProgram,
  spawnExample,
  until,
} from "./_example.ts";

const testdata = new URL("./testdata/", import.meta.url);
const CERT = new URL("cert.pem", testdata).pathname;
const KEY = new URL("key.pem", testdata).pathname;
const cert = await Deno.readTextFile(CERT);
/** Large enough that a download aborted at its first report is partial. */
const SIZE = 32 * 1024 * 1024;

const nginx = findProgram("nginx");
if (nginx === undefined) {
  console.log(
    "http_fetch_nginx_test.ts is ignored: nginx not found (apt-get install nginx)",
  );
}

function nginxConfig(dir: string, port: number): string {
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${dir}/tmp;
    proxy_temp_path ${dir}/tmp;
    fastcgi_temp_path ${dir}/tmp;
    uwsgi_temp_path ${dir}/tmp;
    scgi_temp_path ${dir}/tmp;
    types { application/octet-stream bin; }
    server {
        listen 127.0.0.1:${port} ssl;
        ssl_certificate ${CERT};
        ssl_certificate_key ${KEY};
        root ${dir}/www;
        location /chunked/ {
            alias ${dir}/www/;
            sub_filter_types *;
            sub_filter "no such text" "";
        }
    }
}
`;
}

/** The head of nginx's answer to a GET, read by hand over TLS. */
async function head(port: number, path: string): Promise<string> {
  await using conn = await TcpClient.connect({
    hostname: "localhost",
    port,
    tls: { caCerts: [cert] },
  });
  await conn.write(
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  );
  const bytes = await conn.readUntil("\r\n\r\n");
  return new TextDecoder().decode(bytes);
}

Deno.test({
  name: "fetchToFile() downloads from nginx over HTTPS, chunked and resumed",
  ignore: nginx === undefined,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "http_fetch_nginx_test_" });
    let server: ExampleProcess | undefined;
    try {
      await Deno.mkdir(`${dir}/www`);
      await Deno.mkdir(`${dir}/tmp`);
      await Deno.mkdir(`${dir}/out`);
      const body = new Uint8Array(SIZE);
      for (let i = 0; i < SIZE; i += 65536) {
        crypto.getRandomValues(body.subarray(i, i + 65536));
      }
      await Deno.writeFile(`${dir}/www/data.bin`, body);
      const port = closedPort();
      await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConfig(dir, port));
      server = spawnExample("nginx", [], {
        command: [nginx!, "-p", dir, "-c", `${dir}/nginx.conf`, "-e", "stderr"],
      });
      // nginx writes its pid file once it listens.
      await until(
        () => Deno.stat(`${dir}/nginx.pid`).then(() => true, () => undefined),
        "nginx to start",
      );
      const url = (path: string) => `https://localhost:${port}${path}`;

      await t.step("with a length", async () => {
        assert.match(await head(port, "/data.bin"), /^content-length: /im);
        const seen: FetchProgress[] = [];
        const result = await fetchToFile(url("/data.bin"), `${dir}/out/a`, {
          caCerts: [cert],
          onProgress: (progress) => seen.push(progress),
        });
        assert.equal(result.status, 200);
        assert.equal(result.bytesWritten, SIZE);
        assert.deepEqual(seen.at(-1), { received: SIZE, total: SIZE });
        assert.deepEqual(await Deno.readFile(`${dir}/out/a`), body);
      });

      await t.step("chunked", async () => {
        const chunkedHead = await head(port, "/chunked/data.bin");
        assert.match(chunkedHead, /^transfer-encoding: chunked\r$/im);
        assert.doesNotMatch(chunkedHead, /^content-length:/im);
        const result = await fetchToFile(
          url("/chunked/data.bin"),
          `${dir}/out/b`,
          { caCerts: [cert] },
        );
        assert.equal(result.bytesWritten, SIZE);
        assert.deepEqual(await Deno.readFile(`${dir}/out/b`), body);
      });

      await t.step("aborted at its first report, then resumed", async () => {
        const controller = new AbortController();
        const error = await fetchToFile(url("/data.bin"), `${dir}/out/c`, {
          caCerts: [cert],
          resume: true,
          signal: controller.signal,
          onProgress: () => controller.abort(new Error("stop here")),
        }).catch((e) => e);
        assert.equal(error.message, "stop here");
        const kept = (await Deno.stat(`${dir}/out/c.part`)).size;
        assert.ok(kept > 0 && kept < SIZE, `kept ${kept} bytes`);
        const result = await fetchToFile(url("/data.bin"), `${dir}/out/c`, {
          caCerts: [cert],
          resume: true,
        });
        // nginx answered the range: only the rest came over the wire.
        assert.equal(result.status, 206);
        assert.equal(result.resumedFrom, kept);
        assert.equal(result.bytesWritten, SIZE - kept);
        assert.deepEqual(await Deno.readFile(`${dir}/out/c`), body);
      });
    } finally {
      await server?.[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
