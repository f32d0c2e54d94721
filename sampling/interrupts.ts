/**
 * Sampled sources of `/proc/interrupts` and `/proc/softirqs` (parsed by proc/interrupts.ts), for
 * the mpstat `-I` method.
 *
 * @module
 */

import {
  INTERRUPTS_PATH,
  type IrqTable,
  type IrqTablePath,
  parseIrqTable,
  SOFTIRQS_PATH,
} from "../proc/interrupts.ts";
import type { ProcFs } from "../proc/fs.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

function tableSource(
  fs: ProcFs,
  path: IrqTablePath,
  options: SamplingOptions,
): SampledSource<IrqTable> {
  return new SampledSource(() => parseIrqTable(fs.readTextSync(path), path), options, "demand");
}

/**
 * A sampled source of /proc/interrupts, for the per-interrupt section of mpstat `-I`.
 *
 * @throws {MethodFailure} from `interval()` when the file cannot be read or parsed
 */
export function interruptsSource(
  fs: ProcFs,
  options: SamplingOptions = {},
): SampledSource<IrqTable> {
  return tableSource(fs, INTERRUPTS_PATH, options);
}

/**
 * A sampled source of /proc/softirqs, for the softirq section of mpstat `-I`.
 *
 * @throws {MethodFailure} from `interval()` when the file cannot be read or parsed
 */
export function softirqsSource(fs: ProcFs, options: SamplingOptions = {}): SampledSource<IrqTable> {
  return tableSource(fs, SOFTIRQS_PATH, options);
}
