/**
 * The AArch64 (glibc) Deno executable, fetched from npm at a pinned version and integrity into
 * `.cache/`, and the qemu-user command that runs it on another architecture.
 *
 * The version and integrity are pinned, with the x86_64 one, in `scripts/deno_runtime.ts`.
 *
 * Running it directly prints the path of the executable (fetching it first), e.g. to copy it to
 * a board: `deno run -A scripts/aarch64_deno.ts`.
 *
 * @module
 */

import { DENO_VERSION, denoRuntime, runtimePath, RUNTIMES } from "./deno_runtime.ts";

export { DENO_VERSION };

/** The npm package holding the AArch64 glibc build of Deno (pinned in deno_runtime.ts). */
export const AARCH64_PACKAGE: string = RUNTIMES.aarch64.npmPackage;

/** Where the executable is kept between runs (git-ignored). */
export const AARCH64_DENO_PATH: string = runtimePath("aarch64");

/** The directory of an AArch64 glibc that qemu-user loads the dynamic executable with. */
export const DEFAULT_SYSROOT = "/usr/aarch64-linux-gnu";

/**
 * The CPU qemu emulates: a Cortex-A53 is ARMv8.0-A without the later extensions (LSE atomics,
 * …), like the Raspberry Pi 3 and most 64-bit boards, so code that needs more fails here.
 */
export const EMULATED_CPU = "cortex-a53";

/**
 * The path of the AArch64 Deno executable, fetched with `npm pack` on first use.
 *
 * @throws {Error} when npm or tar fail, or the tarball's integrity is not the pinned one
 */
export function aarch64Deno(): Promise<string> {
  return denoRuntime("aarch64");
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
