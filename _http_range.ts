// Copyright 2026 the tcp authors. MIT license.
// Resuming with a range request (RFC 9110, section 14): the validator a
// response offers for a later If-Range (section 13.1.5), the fields that ask
// for the rest of a partial file, and the checks a 206 must pass before its
// bytes are appended to it. Errors say what was wrong and nothing more:
// fetchToFile names the URL.

import {
  type Framing,
  lenientValue,
  type ResponseHead,
  singleValue,
} from "./_http_response.ts";
import { quote } from "./_http_syntax.ts";

/** A partial file that a request may continue. */
export interface PartialFile {
  /** Its size: the first byte to ask for. */
  size: number;
  /** The `ETag` or `Last-Modified` it was downloaded under. */
  validator: string;
  /** The size of the whole file, if the server said. */
  total: number | undefined;
}

/** Where a response's body goes in the file. */
export interface Extent {
  /** The offset of its first byte: 0, or the partial file's size. */
  offset: number;
  /** How many bytes a 206 announced; `undefined` if the framing decides. */
  length: number | undefined;
  /** The size of the whole file, if known. */
  total: number | undefined;
}

const CONTENT_RANGE = /^bytes ([0-9]{1,15})-([0-9]{1,15})\/([0-9]{1,15}|\*)$/;

/** The fields that ask for the rest of `partial`, if there is one. */
export function rangeFields(
  partial: PartialFile | undefined,
): [string, string][] {
  if (partial === undefined) return [];
  return [["Range", `bytes=${partial.size}-`], ["If-Range", partial.validator]];
}

/**
 * A validator If-Range may carry: a strong ETag, or else a Last-Modified at
 * least a second older than the response's Date (RFC 9110, section 13.1.5).
 */
export function validatorOf(head: ResponseHead): string | undefined {
  const etag = lenientValue(head, "etag");
  if (etag !== undefined && /^"[\x21\x23-\x7e\x80-\xff]*"$/.test(etag)) {
    return etag;
  }
  const modified = lenientValue(head, "last-modified");
  const date = lenientValue(head, "date");
  if (modified === undefined || date === undefined) return undefined;
  const difference = Date.parse(date) - Date.parse(modified);
  return difference >= 1000 ? modified : undefined;
}

/**
 * Where the body of a 2xx response goes: a 206 must continue `partial`
 * exactly, anything else starts the file over.
 *
 * @throws {Deno.errors.InvalidData} For a 206 that was not asked for, or
 * whose range does not continue `partial` to the end of the file.
 */
export function extentOf(
  head: ResponseHead,
  framing: Framing,
  partial: PartialFile | undefined,
): Extent {
  if (head.status !== 206) {
    const total = framing.kind === "length"
      ? framing.length
      : framing.kind === "none"
      ? 0
      : undefined;
    return { offset: 0, length: undefined, total };
  }
  if (partial === undefined) {
    throw new Deno.errors.InvalidData(
      "the server sent a partial response (206) that was not asked for",
    );
  }
  const { length } = checkContentRange(head, partial);
  if (framing.kind === "length" && framing.length !== length) {
    throw new Deno.errors.InvalidData(
      `"Content-Length: ${framing.length}" does not match "Content-Range" for ${length} bytes`,
    );
  }
  return { offset: partial.size, length, total: partial.size + length };
}

/** Checks a 206's range against `partial`; returns its length and total. */
function checkContentRange(
  head: ResponseHead,
  partial: PartialFile,
): { length: number; total: number | undefined } {
  const value = singleValue(head, "content-range");
  const match = value === undefined ? null : CONTENT_RANGE.exec(value);
  const wrong = (why: string) =>
    new Deno.errors.InvalidData(
      `wrong "Content-Range" ${quote(value ?? "")}: ${why}`,
    );
  if (match === null) throw wrong(`expected "bytes ${partial.size}-…/…"`);
  const first = Number(match[1]);
  const last = Number(match[2]);
  const total = match[3] === "*" ? undefined : Number(match[3]);
  if (first !== partial.size) {
    throw wrong(`asked for the bytes from ${partial.size}`);
  }
  if (last < first || (total !== undefined && last + 1 !== total)) {
    throw wrong("the range does not run to the end of the file");
  }
  if (
    total !== undefined && partial.total !== undefined &&
    total !== partial.total
  ) {
    throw wrong(`the file was ${partial.total} bytes before`);
  }
  const etag = lenientValue(head, "etag");
  if (
    partial.validator.startsWith('"') && etag !== undefined &&
    etag !== partial.validator
  ) {
    throw new Deno.errors.InvalidData(
      `the server sent part of ${
        quote(etag)
      } for "If-Range: ${partial.validator}"`,
    );
  }
  return { length: last - first + 1, total };
}
