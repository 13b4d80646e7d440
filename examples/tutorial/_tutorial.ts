// Copyright 2026 the tcp authors. MIT license.
// What the tutorial's Python takes from the language and Deno spells
// differently: printing received bytes, input() with a prompt, and gluing
// text and bytes into one reply. Kept here so that each program reads like
// its Python original.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The bytes of one read as text, as the tutorial prints them. An empty
 * `recv` in Python (the peer has left) is `null` here and prints as `""`.
 */
export function decode(data: Uint8Array | null): string {
  return decoder.decode(data ?? undefined);
}

/**
 * Joins text and bytes into one buffer, as Python's `'OK...' + data` does:
 * one write, so that the peer's one `recv(1024)` gets the whole reply.
 */
export function join(...parts: (string | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((part) =>
    typeof part === "string" ? encoder.encode(part) : part
  );
  const joined = new Uint8Array(
    chunks.reduce((sum, chunk) => sum + chunk.length, 0),
  );
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}

// Typed bytes not yet returned by input(). stdin is read only inside
// input(), never ahead: a read left waiting would keep the program from
// exiting until the next line or Ctrl-D.
let typed: Uint8Array = new Uint8Array(0);
let typingEnded = false;

/**
 * Python's `input(prompt)`: writes `prompt` to stdout without a newline and
 * returns the next line typed on stdin, without its line ending; `null` at
 * the end of input (Ctrl-D), where Python raises `EOFError`.
 */
export async function input(prompt: string): Promise<string | null> {
  let bytes = encoder.encode(prompt);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
  for (;;) {
    const newline = typed.indexOf(10); // "\n"
    if (newline !== -1 || (typingEnded && typed.length > 0)) {
      const end = newline === -1 ? typed.length : newline;
      const line = decoder.decode(typed.subarray(0, end));
      typed = typed.subarray(end + 1);
      return line.replace(/\r$/, "");
    }
    if (typingEnded) return null;
    const buffer = new Uint8Array(1024);
    const n = await Deno.stdin.read(buffer);
    if (n === null) typingEnded = true;
    else typed = join(typed, buffer.subarray(0, n));
  }
}
