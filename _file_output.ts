// Copyright 2026 the tcp authors. MIT license.
// The file side of fetchToFile: the body goes to a temporary file beside the
// target (or, to resume later, to `<path>.part` described by
// `<path>.part.json`), which is synced and renamed over the target only once
// complete. Errors say what was wrong and nothing more: fetchToFile names
// the URL.

import { describeError } from "./_errors.ts";
import type { PartialFile } from "./_http_range.ts";

/** What `<path>.part.json` records about `<path>.part`. */
interface PartMeta {
  url: string;
  validator: string | undefined;
  total: number | undefined;
}

/** Options for {@linkcode FileOutput}. */
export interface FileOutputOptions {
  /** Whether to keep a failed download in `<path>.part` and continue one. */
  resume: boolean;
  /** Whether the finished file may replace an existing one. */
  overwrite: boolean;
}

/**
 * Reads what `<path>.part.json` says about `<path>.part`, if the two make a
 * partial download that can be continued: a validator to ask with, and at
 * least one byte.
 *
 * @throws {Error} If they cannot be read for another reason than being
 * absent or malformed.
 */
export async function readPartial(
  path: string,
): Promise<(PartialFile & { url: string }) | undefined> {
  let meta: Partial<PartMeta> | undefined;
  let size = 0;
  try {
    meta = JSON.parse(await Deno.readTextFile(`${path}.part.json`));
    size = (await Deno.stat(`${path}.part`)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) {
      return undefined;
    }
    throw error;
  }
  if (
    typeof meta?.url !== "string" || typeof meta.validator !== "string" ||
    size === 0 || !(meta.total === undefined || typeof meta.total === "number")
  ) {
    return undefined;
  }
  return { url: meta.url, validator: meta.validator, total: meta.total, size };
}

/**
 * Where a download goes: a temporary file (or with `resume`, the partial
 * file) that becomes `path` only once complete.
 */
export class FileOutput {
  /** Where the finished file goes. */
  readonly path: string;
  /** A partial download found by {@linkcode FileOutput.loadPartial}. */
  partial: PartialFile | undefined;
  #url = "";
  #resume: boolean;
  #overwrite: boolean;
  #part: string;
  #meta: string;
  #file: Deno.FsFile | undefined;
  /** The file being written, until it is renamed into place. */
  #writing: string | undefined;
  /** Keep #writing after a failure: a resumable partial download. */
  #keep = false;

  /** Prepares to write to `path`. */
  constructor(path: string, options: FileOutputOptions) {
    this.path = path;
    this.#resume = options.resume;
    this.#overwrite = options.overwrite;
    this.#part = `${path}.part`;
    this.#meta = `${path}.part.json`;
  }

  /** With `resume`, finds a partial download of `url` to continue. */
  async loadPartial(url: string): Promise<void> {
    this.#url = url;
    if (!this.#resume) return;
    let found;
    try {
      found = await readPartial(this.path);
    } catch (error) {
      throw describeError(error, "cannot resume");
    }
    if (found?.url === url) {
      const { size, validator, total } = found;
      this.partial = { size, validator, total };
    } else {
      await this.discardPartial();
    }
  }

  /** Forgets the partial download, removing its files. */
  async discardPartial(): Promise<void> {
    this.partial = undefined;
    if (this.#resume) await removeQuietly(this.#part, this.#meta);
  }

  /**
   * Opens the file the body goes to: the partial file to append to (when
   * `append`), or a new one.
   *
   * @param about What the server said of the file, kept for resuming.
   */
  async open(
    append: boolean,
    about: { validator: string | undefined; total: number | undefined },
  ): Promise<void> {
    try {
      if (!this.#resume) {
        this.#writing = temporaryPath(this.path);
        this.#file = await Deno.open(this.#writing, {
          write: true,
          createNew: true,
        });
      } else if (append) {
        await this.#openToAppend();
      } else {
        await this.#openPart({ url: this.#url, ...about });
      }
    } catch (error) {
      throw describeError(error, `cannot save "${this.path}"`);
    }
  }

  async #openToAppend(): Promise<void> {
    this.#writing = this.#part;
    this.#keep = true;
    this.#file = await Deno.open(this.#part, { write: true, append: true });
    // Something else may have touched it since loadPartial.
    const { size } = await this.#file.stat();
    if (size !== this.partial!.size) {
      throw new Error(`"${this.#part}" changed while resuming`);
    }
  }

  async #openPart(meta: PartMeta): Promise<void> {
    this.#writing = this.#part;
    this.partial = undefined;
    // Without a validator the partial file could not be matched to the
    // resource next time, so it is worth nothing after a failure.
    if (meta.validator === undefined) {
      await removeQuietly(this.#meta);
    } else {
      await Deno.writeTextFile(this.#meta, JSON.stringify(meta));
    }
    this.#keep = meta.validator !== undefined;
    this.#file = await Deno.open(this.#part, {
      write: true,
      create: true,
      truncate: true,
    });
  }

  /** Writes all of `chunk` (a file write may take only part of it). */
  async write(chunk: Uint8Array): Promise<void> {
    const file = this.#file!;
    let n = await file.write(chunk);
    while (n < chunk.length) n += await file.write(chunk.subarray(n));
  }

  /** Makes the finished file durable and puts it at `path`. */
  async commit(): Promise<void> {
    const file = this.#file!;
    const from = this.#writing!;
    try {
      await file.syncData();
      this.#file = undefined;
      file.close();
      await place(from, this.path, this.#overwrite);
      this.#writing = undefined;
      if (this.#resume) await removeQuietly(this.#meta);
    } catch (error) {
      throw describeError(error, `cannot save "${this.path}"`);
    }
  }

  /** After a failure: closes the file and removes it unless it is kept. */
  async abandon(): Promise<void> {
    try {
      this.#file?.close();
    } catch {
      // Already closed.
    }
    this.#file = undefined;
    if (this.#writing !== undefined && !this.#keep) {
      await removeQuietly(this.#writing);
      if (this.#resume) await removeQuietly(this.#meta);
    }
    this.#writing = undefined;
  }
}

/** A new, hidden name beside `path`: `dir/.name.1a2b3c4d5e6f.tmp`. */
function temporaryPath(path: string): string {
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
  const slash = Math.max(
    path.lastIndexOf("/"),
    Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1,
  );
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${random}.tmp`;
}

/** Moves `from` to `to`; without `overwrite`, never over an existing file. */
async function place(
  from: string,
  to: string,
  overwrite: boolean,
): Promise<void> {
  if (overwrite) return await Deno.rename(from, to);
  try {
    // A hard link fails if `to` exists, atomically, where a check followed
    // by a rename would race with whoever creates `to` in between.
    await Deno.link(from, to);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      // No hard links on this file system: a check is the best left.
      try {
        await Deno.lstat(to);
      } catch (statError) {
        if (statError instanceof Deno.errors.NotFound) {
          return await Deno.rename(from, to);
        }
        throw error;
      }
    }
    throw new Deno.errors.AlreadyExists("the file already exists");
  }
  await Deno.remove(from);
}

async function removeQuietly(...paths: string[]): Promise<void> {
  for (const path of paths) {
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
