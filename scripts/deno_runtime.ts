/**
 * The Deno executables lepd ships with, one per target, fetched from npm at a pinned version and
 * checked against the integrity pinned here — the one place those pins live (the artifacts of
 * `deno task dist` and the AArch64 smoke test both take their Deno from here).
 *
 * Deno publishes its executables on npm as `@deno/<os>-<cpu>-<libc>` packages (the `deno` npm
 * package picks one at install time). npm will not install a package for a foreign CPU without
 * `--force`, but `npm pack` downloads any package's tarball, verified against the registry's
 * integrity; this module checks it again against the value pinned below, so a registry that
 * served other bytes under the same version would be caught.
 *
 * The executables are kept in `.cache/deno-<version>-<triple>/deno` (git-ignored) between runs.
 *
 * @module
 */

import { DENO_VERSION } from "../checks/deno_version.ts";
import { REPO_ROOT } from "./bundle.ts";
import { runToEnd } from "./subprocess.ts";

/** The Deno version lepd is built and tested with, which its start path checks. */
export { DENO_VERSION };

/** The targets lepd is shipped for. */
export type Target = "x86_64" | "aarch64";

/** What is pinned for one target. */
export interface Runtime {
  /** Rust-style target triple, as `deno --version` prints it. */
  triple: string;
  /** The npm package holding that build of Deno. */
  npmPackage: string;
  /** `dist.integrity` of `<npmPackage>@<DENO_VERSION>` on registry.npmjs.org. */
  integrity: string;
}

/**
 * The pins. To move to another Deno: change {@link DENO_VERSION}, take each package's
 * `npm view <package>@<version> dist.integrity`, and run `deno task test` and
 * `deno task test:aarch64` before committing.
 */
export const RUNTIMES: Readonly<Record<Target, Runtime>> = {
  x86_64: {
    triple: "x86_64-unknown-linux-gnu",
    npmPackage: "@deno/linux-x64-glibc",
    integrity:
      "sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==",
  },
  aarch64: {
    triple: "aarch64-unknown-linux-gnu",
    npmPackage: "@deno/linux-arm64-glibc",
    integrity:
      "sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/in58xKtxEoQ==",
  },
};

/** Every target, in the order the artifacts are built. */
export const TARGETS: readonly Target[] = ["x86_64", "aarch64"];

/** Where the executable of `target` is kept between runs. */
export function runtimePath(target: Target): string {
  return `${REPO_ROOT}/.cache/deno-${DENO_VERSION}-${RUNTIMES[target].triple}/deno`;
}

/** The Subresource Integrity string of `bytes` in npm's `dist.integrity` form. */
export async function integrityOf(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `sha512-${btoa(binary)}`;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The path of the Deno executable for `target`, fetched with `npm pack` on first use and
 * checked against its pinned integrity.
 *
 * @throws {Error} when npm or tar fail, or the tarball's integrity is not the pinned one
 */
export async function denoRuntime(target: Target): Promise<string> {
  const path = runtimePath(target);
  if (await isExecutable(path)) return path;
  const { npmPackage, integrity: pinned } = RUNTIMES[target];
  const directory = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(directory, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: directory, prefix: ".fetch-" });
  try {
    const spec = `${npmPackage}@${DENO_VERSION}`;
    let packed;
    try {
      packed = await runToEnd("npm", {
        args: ["pack", spec, "--pack-destination", staging, "--silent"],
        cwd: staging,
        timeoutMs: 600_000,
      });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(`Cannot fetch ${spec}: npm is not installed`);
    }
    const tarball = packed.stdout.trim().split("\n").at(-1) ?? "";
    if (packed.code !== 0 || tarball === "") {
      throw new Error(`"npm pack ${spec}" failed (status ${packed.code}):\n${packed.stderr}`);
    }
    const integrity = await integrityOf(await Deno.readFile(`${staging}/${tarball}`));
    if (integrity !== pinned) {
      throw new Error(`${spec} from npm has integrity "${integrity}", expected "${pinned}"`);
    }
    const unpacked = await runToEnd("tar", {
      args: ["-xzf", tarball, "package/deno"],
      cwd: staging,
      timeoutMs: 120_000,
    });
    if (unpacked.code !== 0) {
      throw new Error(`Cannot unpack "${tarball}" (status ${unpacked.code}):\n${unpacked.stderr}`);
    }
    await Deno.chmod(`${staging}/package/deno`, 0o755);
    await Deno.rename(`${staging}/package/deno`, path);
    return path;
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

if (import.meta.main) {
  // `deno run -A scripts/deno_runtime.ts [x86_64|aarch64]…`: prints each executable's path.
  try {
    for (const name of Deno.args.length === 0 ? TARGETS : Deno.args) {
      if (!(TARGETS as readonly string[]).includes(name)) {
        throw new Error(`Unknown target "${name}": expected ${TARGETS.join(" or ")}`);
      }
      console.log(await denoRuntime(name as Target));
    }
  } catch (error) {
    console.error(`deno_runtime: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
