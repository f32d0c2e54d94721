/**
 * Builds the registry of every method lepd serves, in the order of PROTOCOL.md section 2 —
 * which is the order `ListAllMethod` reports.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { listAllMethod, sayHello } from "./hello.ts";
import { PROC_FILE_METHODS, procFileCollector } from "./proc_files.ts";
import type { ProcFs } from "./proc_fs.ts";
import { Registry } from "./registry.ts";

/** Creates the registry with every collector registered. */
export function createRegistry(
  options: { fs: ProcFs; log: Logger; maxResultBytes: number },
): Registry {
  const registry = new Registry(options);
  registry.register("SayHello", sayHello);
  registry.register("ListAllMethod", listAllMethod);
  for (const [method, path] of PROC_FILE_METHODS) {
    registry.register(method, procFileCollector(path));
  }
  return registry;
}
