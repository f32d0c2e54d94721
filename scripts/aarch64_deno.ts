/**
 * The AArch64 (glibc) Deno executable, fetched from npm at a pinned version and integrity into
 * `.cache/`, and the qemu-user command that runs it on another architecture.
 *
 * Deno publishes its executables on npm as `@deno/<os>-<cpu>-<libc>` packages (the `deno` npm
 * package picks one at install time). npm will not install a package for a foreign CPU without
 * `--force`, but `npm pack` downloads any package's tarball, verified against the registry's
 * integrity; this module checks it again against the value pinned here.
 *
 * Running it directly prints the path of the executable (fetching it first), e.g. to copy it to
 * a board: `deno run -A scripts/aarch64_deno.ts`.
 *
 * @module
 */

import { REPO_ROOT } from "./bundle.ts";
import { runToEnd } from "./subprocess.ts";

/** The Deno version lepd is built and tested with (the README's `npx deno@…`). */
export const DENO_VERSION = "2.9.6";

/** The npm package holding the AArch64 glibc build of Deno. */
export const AARCH64_PACKAGE = "@deno/linux-arm64-glibc";

/** `dist.integrity` of `@deno/linux-arm64-glibc@2.9.6` on registry.npmjs.org. */
export const AARCH64_INTEGRITY =
  "sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/in58xKtxEoQ==";

/** Where the executable is kept between runs (git-ignored). */
export const AARCH64_DENO_PATH =
  `${REPO_ROOT}/.cache/deno-${DENO_VERSION}-aarch64-unknown-linux-gnu/deno`;

/** The directory of an AArch64 glibc that qemu-user loads the dynamic executable with. */
export const DEFAULT_SYSROOT = "/usr/aarch64-linux-gnu";

/**
 * The CPU qemu emulates: a Cortex-A53 is ARMv8.0-A without the later extensions (LSE atomics,
 * …), like the Raspberry Pi 3 and most 64-bit boards, so code that needs more fails here.
 */
export const EMULATED_CPU = "cortex-a53";

/** The Subresource Integrity string of `bytes` in npm's `dist.integrity` form. */
async function integrityOf(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  return `sha512-${btoa(String.fromCharCode(...digest))}`;
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
 * The path of the AArch64 Deno executable, fetched with `npm pack` on first use.
 *
 * @throws {Error} when npm or tar fail, or the tarball's integrity is not the pinned one
 */
export async function aarch64Deno(): Promise<string> {
  if (await isExecutable(AARCH64_DENO_PATH)) return AARCH64_DENO_PATH;
  const directory = AARCH64_DENO_PATH.slice(0, AARCH64_DENO_PATH.lastIndexOf("/"));
  await Deno.mkdir(directory, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: directory, prefix: ".fetch-" });
  try {
    const spec = `${AARCH64_PACKAGE}@${DENO_VERSION}`;
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
    const bytes = await Deno.readFile(`${staging}/${tarball}`);
    const integrity = await integrityOf(bytes);
    if (integrity !== AARCH64_INTEGRITY) {
      throw new Error(
        `${spec} from npm has integrity "${integrity}", expected "${AARCH64_INTEGRITY}"`,
      );
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
    await Deno.rename(`${staging}/package/deno`, AARCH64_DENO_PATH);
    return AARCH64_DENO_PATH;
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

/** How to run an AArch64 executable on this machine. */
export interface Emulator {
  /** The qemu-user executable. */
  program: string;
  /** Its arguments before the guest executable. */
  args: string[];
}

function onPath(name: string): string | undefined {
  for (const directory of (Deno.env.get("PATH") ?? "").split(":")) {
    if (directory === "") continue;
    try {
      if (Deno.statSync(`${directory}/${name}`).isFile) return `${directory}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * qemu-user for AArch64 (`qemu-aarch64-static` of Debian's qemu-user-static, or
 * `qemu-aarch64`) with the AArch64 glibc of `sysroot` (Debian's libc6-arm64-cross and
 * libgcc-s1-arm64-cross), emulating {@link EMULATED_CPU}.
 *
 * @throws {Error} naming the packages to install when either is missing
 */
export function emulator(sysroot: string = DEFAULT_SYSROOT): Emulator {
  const program = onPath("qemu-aarch64-static") ?? onPath("qemu-aarch64");
  if (program === undefined) {
    throw new Error(
      "qemu-aarch64-static is not installed (Debian: apt-get install qemu-user-static)",
    );
  }
  for (const library of ["ld-linux-aarch64.so.1", "libc.so.6", "libgcc_s.so.1"]) {
    try {
      Deno.statSync(`${sysroot}/lib/${library}`);
    } catch {
      throw new Error(
        `"${sysroot}/lib/${library}" is missing: the AArch64 Deno is linked against glibc ` +
          "(Debian: apt-get install libc6-arm64-cross libgcc-s1-arm64-cross)",
      );
    }
  }
  return { program, args: ["-cpu", EMULATED_CPU, "-L", sysroot] };
}

if (import.meta.main) {
  try {
    console.log(await aarch64Deno());
  } catch (error) {
    console.error(`aarch64_deno: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
