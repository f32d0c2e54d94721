/**
 * `deno task bundle`: writes the daemon as two self-contained JavaScript files,
 *
 * - `dist/lepd.js`: main.ts and everything it imports (deno.json's version included), and
 * - `dist/worker.js`: the network worker, which main.ts starts from a URL beside its own module
 *   (`rpc/worker_host.ts`) — a bundler cannot follow that, so it is a second entry point,
 *
 * which run with `deno run --allow-all --unstable-worker-options --v8-flags=--single-threaded dist/lepd.js` on any machine
 * with that Deno: no sources, no npm cache, no network (docs/ARM.md). The files import nothing
 * but Node built-ins (`node:…`), which this script checks.
 *
 * `deno bundle` (esbuild) fetches esbuild from npm the first time it runs on a machine.
 *
 * Usage: `deno task bundle [--out-dir DIR]` (default `dist/`).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RUN_FLAGS, runToEnd } from "./subprocess.ts";

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** The bundle's files: main first. Their names are part of how main finds its worker. */
export const BUNDLE_FILES = { main: "lepd.js", worker: "worker.js" } as const;

/** Where `deno task bundle` writes by default. */
export const DEFAULT_OUT_DIR = `${REPO_ROOT}/dist`;

/** What one bundle holds. */
export interface Bundle {
  /** Absolute paths of the two files. */
  main: string;
  worker: string;
  /** Sizes in bytes. */
  mainBytes: number;
  workerBytes: number;
}

/** Every module specifier a bundle imports, statically or dynamically. */
export function importedSpecifiers(code: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']/g,
  ];
  return patterns.flatMap((pattern) => Array.from(code.matchAll(pattern), (match) => match[1]!));
}

async function bundleOne(entry: string, output: string): Promise<void> {
  const result = await runToEnd(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "--output", output, entry],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    // The first run downloads esbuild from npm.
    timeoutMs: 300_000,
  });
  if (result.code !== 0) {
    throw new Error(`"deno bundle ${entry}" failed (status ${result.code}):\n${result.stderr}`);
  }
}

/**
 * Bundles main.ts and rpc/worker.ts into `outDir` (replacing the two files at once, after the
 * checks pass).
 *
 * @throws {Error} when `deno bundle` fails or a file imports anything but a Node built-in
 */
export async function bundle(options: { outDir: string }): Promise<Bundle> {
  await Deno.mkdir(options.outDir, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: options.outDir, prefix: ".bundle-" });
  try {
    const main = `${staging}/${BUNDLE_FILES.main}`;
    const worker = `${staging}/${BUNDLE_FILES.worker}`;
    await bundleOne("main.ts", main);
    await bundleOne("rpc/worker.ts", worker);
    for (const file of [main, worker]) {
      const foreign = importedSpecifiers(await Deno.readTextFile(file)).filter((specifier) =>
        !specifier.startsWith("node:")
      );
      if (foreign.length > 0) {
        throw new Error(
          `The bundle "${file}" still imports ${foreign.map((s) => `"${s}"`).join(", ")}: ` +
            "it would need them at run time",
        );
      }
    }
    if (!(await Deno.readTextFile(main)).includes(`"./${BUNDLE_FILES.worker}"`)) {
      throw new Error(
        `The bundle "${main}" does not name "./${BUNDLE_FILES.worker}": rpc/worker_host.ts no ` +
          "longer starts the bundled worker beside itself",
      );
    }
    const placed = {
      main: `${options.outDir}/${BUNDLE_FILES.main}`,
      worker: `${options.outDir}/${BUNDLE_FILES.worker}`,
    };
    await Deno.rename(worker, placed.worker);
    await Deno.rename(main, placed.main);
    return {
      ...placed,
      mainBytes: (await Deno.stat(placed.main)).size,
      workerBytes: (await Deno.stat(placed.worker)).size,
    };
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: { "out-dir": { type: "string" } },
  });
  const outDir = values["out-dir"] ?? DEFAULT_OUT_DIR;
  try {
    const result = await bundle({ outDir });
    for (
      const [path, bytes] of [[result.main, result.mainBytes], [
        result.worker,
        result.workerBytes,
      ]] as const
    ) {
      console.log(`${path}  ${(bytes / 1024).toFixed(1)} KiB  sha256 ${await sha256(path)}`);
    }
    console.log(
      `Run it with: deno run ${RUN_FLAGS.join(" ")} ${result.main}`,
    );
  } catch (error) {
    console.error(`bundle: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
