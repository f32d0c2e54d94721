/**
 * The entry point of the bundle (`dist/lepd.js`, see scripts/bundle.ts): checks the Deno version
 * before anything else is loaded, then loads the daemon (`daemon.js` beside this file, or
 * main.ts when run from the sources) and runs it.
 *
 * The daemon is imported only after the check, by a URL computed at run time (so the bundler
 * leaves it a separate file): a Deno that cannot link it — a missing Node export, a newer
 * syntax — never gets that far, and prints the one-line reason instead of a linker error.
 *
 * @module
 */

import { denoVersionProblem } from "./deno_version.ts";

const problem = denoVersionProblem(Deno.version.deno);
if (problem !== undefined) {
  console.error(`lepd: ${problem}`);
  Deno.exit(1);
}

const daemon = new URL(
  import.meta.url.endsWith(".ts") ? "../main.ts" : "./daemon.js",
  import.meta.url,
);
const { main } = await import(daemon.href) as {
  main(args: readonly string[]): Promise<number>;
};
Deno.exit(await main(Deno.args));
