/**
 * Which Deno lepd runs on. lepd is built and tested with one Deno release; another one fails in
 * ways that say nothing about the cause (Deno 2.4: `'node:fs/promises' does not provide an export
 * named 'statfs'`, Deno 2.0: `Unsupported lockfile version '5'`), so the start path checks the
 * version first and says in one line which one it needs.
 *
 * This module imports nothing, so it loads and runs on any Deno, also one that could not link
 * the rest of lepd (`checks/entry.ts` runs it before loading the daemon).
 *
 * @module
 */

/** The Deno release lepd is built and tested with; the artifacts ship exactly this one. */
export const DENO_VERSION = "2.9.6";

function parts(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version.trim());
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * Why lepd cannot run on Deno `version` (as `Deno.version.deno` gives it), in one line, or
 * undefined when it can: the same major and minor release as {@link DENO_VERSION}, at that patch
 * level or a later one (patch releases keep the APIs lepd uses).
 */
export function denoVersionProblem(
  version: string,
  required: string = DENO_VERSION,
): string | undefined {
  const have = parts(version);
  const need = parts(required);
  if (need === undefined) throw new Error(`Invalid required Deno version "${required}"`);
  if (
    have !== undefined && have[0] === need[0] && have[1] === need[1] && have[2] >= need[2]
  ) {
    return undefined;
  }
  return `lepd needs Deno ${required} (or a later ${need[0]}.${need[1]}.x), not ${version}: ` +
    `run it with the Deno of its package (/opt/lepd/deno) or "npx -y deno@${required}"`;
}
