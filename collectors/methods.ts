/**
 * Builds the registry of every method lepd serves, in the order of PROTOCOL.md section 2 —
 * which is the order `ListAllMethod` reports: the original's methods first, then the ones
 * only its README or its history had.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { listAllMethod, sayHello } from "./hello.ts";
import { iotopCollector } from "./iotop.ts";
import { PROC_FILE_METHODS, procFileCollector } from "./proc_files.ts";
import { procStatSource } from "./proc_stat.ts";
import type { ProcFs } from "./proc_fs.ts";
import { pageSizeBytes, UserNames } from "./processes.ts";
import { psCollector } from "./ps.ts";
import { Registry } from "./registry.ts";
import type { SamplingOptions } from "./sampler.ts";
import { TaskSampling } from "./task_snapshots.ts";
import { topThreadsCollector } from "./top_threads.ts";

/** Creates the registry with every collector registered. */
export function createRegistry(
  options: { fs: ProcFs; log: Logger; maxResultBytes: number; sampling?: SamplingOptions },
): Registry {
  const { fs } = options;
  const registry = new Registry(options);
  const users = new UserNames(fs);
  const pageBytes = pageSizeBytes(fs);
  const tasks = new TaskSampling(fs, options.sampling);
  const procStat = procStatSource(fs, options.sampling);

  registry.register("SayHello", sayHello);
  registry.register("ListAllMethod", listAllMethod);
  for (const [method, path] of PROC_FILE_METHODS) {
    registry.register(method, procFileCollector(path));
  }
  registry.register("GetCmdIotop", iotopCollector({ sampling: tasks, users }));
  registry.register("GetCmdTop", psCollector({ sampling: tasks, users, pageBytes }));
  registry.register(
    "GetCmdTopH",
    topThreadsCollector({ sampling: tasks, procStat, users, pageBytes }),
  );
  return registry;
}
