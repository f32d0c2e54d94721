/**
 * `deno task dist`: one release artifact per target, `dist/lepd-<version>-<target>.tar.gz`, which
 * installs lepd on a machine without network in one step (docs/install.md):
 *
 * ```
 * lepd-<version>-<target>/
 *   deno         the Deno executable for the target (npm's @deno/linux-*-glibc, integrity pinned
 *                in scripts/deno_runtime.ts)
 *   lepd         the command: runs lepd.js with that Deno and the start task's flags
 *   lepd.js, daemon.js, worker.js      the bundle (`deno task bundle`)
 *   lepd.service the systemd unit (deploy/lepd.service)
 *   install.sh   the installer (deploy/install.sh)
 *   README.md, INSTALL.md (docs/install.md), LICENSE
 *   VERSION      "lepd <version> <target triple> deno-<Deno version>"
 *   SHA256SUMS   the checksum of every other file (install.sh checks them)
 * ```
 *
 * The archives are reproducible: the same sources give the same bytes (entries sorted by name,
 * owner 0:0 without names, fixed modes and modification times — `SOURCE_DATE_EPOCH`, 0 by
 * default — and gzip without a name or time stamp). It needs GNU tar and gzip.
 *
 * Usage: `deno task dist [--target x86_64|aarch64]… [--out-dir DIR]` (default: both, `dist/`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoConfig from "../deno.json" with { type: "json" };
import { bundle, BUNDLE_FILES, REPO_ROOT } from "./bundle.ts";
import { DENO_VERSION, denoRuntime, RUNTIMES, type Target, TARGETS } from "./deno_runtime.ts";
import { RUN_FLAGS, runToEnd } from "./subprocess.ts";

/** lepd's version, from deno.json. */
export const VERSION: string = denoConfig.version;

/** The artifact's target names: the CPU and the C library Deno is linked with. */
export function artifactTarget(target: Target): string {
  return `${target}-linux-gnu`;
}

/** `lepd-<version>-<target>`: the archive's name without `.tar.gz`, and its top directory. */
export function artifactName(target: Target): string {
  return `lepd-${VERSION}-${artifactTarget(target)}`;
}

/** The files of an artifact, beside the bundle's, and where they come from in the repository. */
const COPIED: ReadonlyArray<[name: string, source: string, mode: number]> = [
  ["install.sh", "deploy/install.sh", 0o755],
  ["lepd.service", "deploy/lepd.service", 0o644],
  ["README.md", "README.md", 0o644],
  ["INSTALL.md", "docs/install.md", 0o644],
  ["LICENSE", "LICENSE", 0o644],
];

/** The `lepd` command of an artifact: the bundle with the Deno beside it. */
export function launcher(): string {
  return `#!/bin/sh
# lepd ${VERSION}: runs the bundle beside this file with the Deno beside it and the flags lepd is
# tested with (the repository's "deno task start"). Arguments are lepd's: lepd --help.
here=$(dirname "$(readlink -f "$0")")
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
exec "$here/deno" run ${RUN_FLAGS.join(" ")} "$here/${BUNDLE_FILES.main}" "$@"
`;
}

/** One artifact built. */
export interface Artifact {
  target: Target;
  /** Absolute path of the `.tar.gz`. */
  path: string;
  bytes: number;
  sha256: string;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Fills `directory` with the files of the artifact for `target`, SHA256SUMS last. */
async function stage(directory: string, target: Target, bundleDir: string): Promise<void> {
  await Deno.mkdir(directory, { recursive: true });
  const modes = new Map<string, number>();
  const copy = async (from: string, name: string, mode: number) => {
    await Deno.copyFile(from, `${directory}/${name}`);
    modes.set(name, mode);
  };
  await copy(await denoRuntime(target), "deno", 0o755);
  for (const file of Object.values(BUNDLE_FILES)) await copy(`${bundleDir}/${file}`, file, 0o644);
  for (const [name, source, mode] of COPIED) await copy(`${REPO_ROOT}/${source}`, name, mode);
  await Deno.writeTextFile(`${directory}/lepd`, launcher());
  modes.set("lepd", 0o755);
  await Deno.writeTextFile(
    `${directory}/VERSION`,
    `lepd ${VERSION} ${RUNTIMES[target].triple} deno-${DENO_VERSION}\n`,
  );
  modes.set("VERSION", 0o644);
  const names = [...modes.keys()].sort();
  const sums = [];
  for (const name of names) {
    sums.push(`${await sha256Hex(await Deno.readFile(`${directory}/${name}`))}  ${name}\n`);
  }
  await Deno.writeTextFile(`${directory}/SHA256SUMS`, sums.join(""));
  modes.set("SHA256SUMS", 0o644);
  for (const [name, mode] of modes) await Deno.chmod(`${directory}/${name}`, mode);
  await Deno.chmod(directory, 0o755);
}

/** `tar … | gzip -n`, reproducibly, into `output`. */
async function archive(parent: string, top: string, output: string, mtime: number) {
  const tar = new Deno.Command("tar", {
    args: [
      "--create",
      "--format=ustar",
      "--sort=name",
      `--mtime=@${mtime}`,
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mode=go-w",
      "--directory",
      parent,
      "--file=-",
      top,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const gzip = new Deno.Command("gzip", {
    args: ["-n", "-6", "-c"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const file = await Deno.open(output, { write: true, create: true, truncate: true });
  const [tarStatus, gzipStatus, tarErr, gzipErr] = await Promise.all([
    tar.status,
    gzip.status,
    new Response(tar.stderr).text(),
    new Response(gzip.stderr).text(),
    tar.stdout.pipeTo(gzip.stdin),
    gzip.stdout.pipeTo(file.writable),
  ]);
  if (!tarStatus.success) throw new Error(`tar failed (status ${tarStatus.code}): ${tarErr}`);
  if (!gzipStatus.success) throw new Error(`gzip failed (status ${gzipStatus.code}): ${gzipErr}`);
}

/**
 * Builds the artifacts of `targets` into `outDir` (each replaced at once when complete). The
 * bundle is built once for all of them.
 *
 * @throws {Error} when bundling, fetching a Deno, tar or gzip fail
 */
export async function dist(
  options: { targets?: readonly Target[]; outDir: string },
): Promise<Artifact[]> {
  const mtime = Number(Deno.env.get("SOURCE_DATE_EPOCH") ?? "0");
  if (!Number.isInteger(mtime) || mtime < 0) {
    throw new Error(`SOURCE_DATE_EPOCH must be a whole number of seconds`);
  }
  await Deno.mkdir(options.outDir, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: options.outDir, prefix: ".dist-" });
  try {
    const bundleDir = `${staging}/bundle`;
    await bundle({ outDir: bundleDir });
    const artifacts: Artifact[] = [];
    for (const target of options.targets ?? TARGETS) {
      const name = artifactName(target);
      await stage(`${staging}/${name}`, target, bundleDir);
      const partial = `${staging}/${name}.tar.gz`;
      await archive(staging, name, partial, mtime);
      const path = `${options.outDir}/${name}.tar.gz`;
      await Deno.rename(partial, path);
      const bytes = await Deno.readFile(path);
      artifacts.push({ target, path, bytes: bytes.length, sha256: await sha256Hex(bytes) });
    }
    return artifacts;
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

/** Unpacks an artifact into `directory`; returns the path of its top directory. */
export async function unpack(artifact: string, directory: string): Promise<string> {
  const result = await runToEnd("tar", {
    args: ["-xzf", artifact, "-C", directory],
    timeoutMs: 300_000,
  });
  if (result.code !== 0) throw new Error(`Cannot unpack ${artifact}: ${result.stderr}`);
  const top = artifact.slice(artifact.lastIndexOf("/") + 1).replace(/\.tar\.gz$/, "");
  return `${directory}/${top}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: { target: { type: "string", multiple: true }, "out-dir": { type: "string" } },
  });
  try {
    const targets = (values.target ?? [...TARGETS]).map((name) => {
      if (!(TARGETS as readonly string[]).includes(name)) {
        throw new Error(`Unknown target "${name}": expected ${TARGETS.join(" or ")}`);
      }
      return name as Target;
    });
    const started = performance.now();
    const artifacts = await dist({ targets, outDir: values["out-dir"] ?? `${REPO_ROOT}/dist` });
    for (const artifact of artifacts) {
      console.log(
        `${artifact.path}  ${(artifact.bytes / 1024 / 1024).toFixed(1)} MiB  ` +
          `sha256 ${artifact.sha256}`,
      );
    }
    console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`);
  } catch (error) {
    console.error(`dist: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
