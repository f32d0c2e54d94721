/**
 * `deno task bundle`: writes the daemon as three self-contained JavaScript files,
 *
 * - `dist/lepd.js`: the entry point (checks/entry.ts), which checks the Deno version and only
 *   then loads the daemon beside it — so a Deno that could not link the daemon says which
 *   version lepd needs instead of failing on a missing export;
 * - `dist/daemon.js`: main.ts and everything it imports (deno.json's version included), and
 * - `dist/worker.js`: the network worker, which main.ts starts from a URL beside its own module
 *   (`rpc/worker_host.ts`) — a bundler cannot follow that, so it is a third entry point,
 *
 * which run with `deno run --allow-all --unstable-worker-options
 * --v8-flags=--max-semi-space-size=1,--optimize-for-size,--expose-gc dist/lepd.js` on any machine with that Deno: no sources, no npm cache, no network
 * (docs/install.md). The files import nothing but Node built-ins (`node:…`), which this script
 * checks.
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

/**
 * The bundle's files: the entry point first. Their names are part of how the entry finds the
 * daemon and the daemon its worker.
 */
export const BUNDLE_FILES = { main: "lepd.js", daemon: "daemon.js", worker: "worker.js" } as const;

/** Where `deno task bundle` writes by default. */
export const DEFAULT_OUT_DIR = `${REPO_ROOT}/dist`;

/** What one bundle holds. */
export interface Bundle {
  /** Absolute paths of the three files. */
  main: string;
  daemon: string;
  worker: string;
  /** Sizes in bytes. */
  mainBytes: number;
  daemonBytes: number;
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
 * Bundles checks/entry.ts, main.ts and rpc/worker.ts into `outDir` (replacing the three files
 * at once, after the checks pass).
 *
 * @throws {Error} when `deno bundle` fails or a file imports anything but a Node built-in
 */
export async function bundle(options: { outDir: string }): Promise<Bundle> {
  await Deno.mkdir(options.outDir, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: options.outDir, prefix: ".bundle-" });
  try {
    const main = `${staging}/${BUNDLE_FILES.main}`;
    const daemon = `${staging}/${BUNDLE_FILES.daemon}`;
    const worker = `${staging}/${BUNDLE_FILES.worker}`;
    await bundleOne("checks/entry.ts", main);
    await bundleOne("main.ts", daemon);
    await bundleOne("rpc/worker.ts", worker);
    for (const file of [main, daemon, worker]) {
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
    const names = [
      [main, BUNDLE_FILES.daemon, "checks/entry.ts no longer loads the daemon beside itself"],
      [daemon, BUNDLE_FILES.worker, "rpc/worker_host.ts no longer starts the worker beside itself"],
    ] as const;
    for (const [file, other, why] of names) {
      if (!(await Deno.readTextFile(file)).includes(`"./${other}"`)) {
        throw new Error(`The bundle "${file}" does not name "./${other}": ${why}`);
      }
    }
    if (!/^export\s*\{[^}]*\bmain\b/m.test(await Deno.readTextFile(daemon))) {
      throw new Error(`The bundle "${daemon}" does not export main(), which the entry calls`);
    }
    const placed = {
      main: `${options.outDir}/${BUNDLE_FILES.main}`,
      daemon: `${options.outDir}/${BUNDLE_FILES.daemon}`,
      worker: `${options.outDir}/${BUNDLE_FILES.worker}`,
    };
    // The entry last: an interrupted run never leaves an entry that loads a missing daemon.
    await Deno.rename(worker, placed.worker);
    await Deno.rename(daemon, placed.daemon);
    await Deno.rename(main, placed.main);
    return {
      ...placed,
      mainBytes: (await Deno.stat(placed.main)).size,
      daemonBytes: (await Deno.stat(placed.daemon)).size,
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
      const [path, bytes] of [
        [result.main, result.mainBytes],
        [result.daemon, result.daemonBytes],
        [result.worker, result.workerBytes],
      ] as const
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
