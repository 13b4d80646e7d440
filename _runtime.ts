// Copyright 2026 the tcp authors. MIT license.
// A workaround for a runtime bug that the package's users would otherwise
// meet under load.

let prepared = false;

/**
 * Makes the runtime set up its signal handling now, while file descriptors
 * are free. Deno 2.9.6 does it lazily, about half a second after start, and
 * panics (`ext/signals/lib.rs:58` unwraps a failed `socketpair`) when the
 * process has run out of descriptors by then: a server flooded right after
 * it starts dies. Any signal listener makes the runtime set it up; SIGWINCH
 * is ignored by default, and the listener is removed at once, so how the
 * process reacts to every signal, Ctrl-C and SIGTERM included, is unchanged.
 */
export function prepareRuntime(): void {
  if (prepared) return;
  prepared = true;
  if (Deno.build.os === "windows") return;
  const ignore = () => {};
  try {
    Deno.addSignalListener("SIGWINCH", ignore);
    Deno.removeSignalListener("SIGWINCH", ignore);
  } catch {
    // No signals here (a worker, a sandbox): nothing to prepare.
  }
}
