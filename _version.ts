// Copyright 2026 the tcp authors. MIT license.
// The package's name and version, read from deno.json so that the version
// lives in one place: deno.json is what `deno publish` publishes under.

import config from "./deno.json" with { type: "json" };

/** The package's version (semver), such as `"1.2.3"`. */
export const VERSION: string = config.version;

/** The package's name on JSR, `"@netkit/tcp"`. */
export const NAME: string = config.name;
