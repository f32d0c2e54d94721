/**
 * The one error of the kernel-file parsers in proc/ (see proc/README.md for the policy).
 *
 * @module
 */

import { MethodFailure } from "../failure.ts";

/**
 * Text that is not the kernel file it was read as: empty, garbage, or missing the line or header
 * every kernel writes (`Cannot parse "/proc/meminfo": it has no "MemTotal" line`).
 *
 * It is a {@link MethodFailure}, so a collector that lets it through gives the client this
 * message as the method's error, and the registry needs no case of its own for it.
 */
export class ProcParseError extends MethodFailure {
  override name = "ProcParseError";
  /** The kernel file, as the path the kernel gives it (`/proc/stat`, `/proc/<pid>/stat`). */
  readonly path: string;
  /** What was missing or wrong, without the path. */
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(`Cannot parse "${path}": ${problem}`);
    this.path = path;
    this.problem = problem;
  }
}
