/**
 * `GetCpuInfo` (docs/protocol.md 3.5): the number of CPUs and a CPU name, two lines:
 *
 * ```
 * cpunr: 2
 * cpu_name: GenuineIntel
 * ```
 *
 * LEPV reads only `cpunr:` (4.6). `cpu_name` keeps the original's rule where the original
 * worked — the value of the first line of the first /proc/cpuinfo block that contains `ARM`,
 * `AArch64`, `Intel` or `AMD`: the x86 `vendor_id` (`GenuineIntel`, `AuthenticAMD`), the ARMv7
 * `Processor`/`model name` line, the old arm64 `Processor : AArch64 …` line. Modern arm64 files
 * have no such line (the original crashed on them); there the name is the vendor of the
 * `CPU implementer` code (`0x70` → `Phytium`, `0x41` → `ARM`), the vendor as on x86. Other
 * layouts fall back to the first `vendor_id`, `model name`, `cpu model`, `cpu`, `uarch` or
 * `Hardware` value, and to `unknown`. Every text ends with a newline (the original's `unknown`
 * had none).
 *
 * @module
 */

import { type Cpuinfo, CPUINFO_PATH, parseCpuinfo, processorCount } from "../proc/cpuinfo.ts";
import { ProcParseError } from "../proc/parse_error.ts";
import { MethodFailure } from "../failure.ts";
import type { ProcFs } from "../proc/fs.ts";
import type { Collector, Schema } from "./collector.ts";
import { cpuNumbers } from "./sysstat.ts";

/** What the original looked for in a value to call it the CPU name. */
const ORIGINAL_NAME_WORDS = ["ARM", "AArch64", "Intel", "AMD"] as const;

/**
 * Vendors of the ARM `CPU implementer` codes (bits 31–24 of MIDR), as the Arm architecture
 * reference manual and util-linux's lscpu name them.
 */
export const ARM_IMPLEMENTERS: ReadonlyMap<number, string> = new Map([
  [0x41, "ARM"],
  [0x42, "Broadcom"],
  [0x43, "Cavium"],
  [0x44, "DEC"],
  [0x46, "Fujitsu"],
  [0x48, "HiSilicon"],
  [0x49, "Infineon"],
  [0x4d, "Motorola/Freescale"],
  [0x4e, "NVIDIA"],
  [0x50, "APM"],
  [0x51, "Qualcomm"],
  [0x53, "Samsung"],
  [0x56, "Marvell"],
  [0x61, "Apple"],
  [0x66, "Faraday"],
  [0x69, "Intel"],
  [0x6d, "Microsoft"],
  [0x70, "Phytium"],
  [0xc0, "Ampere"],
]);

/**
 * Keys whose value names the CPU on layouts without an implementer code, in order of
 * preference: x86 and s390 (`vendor_id`), x86 without vendor, MIPS (`cpu model`), PowerPC
 * (`cpu`), RISC-V (`uarch`), and the board name of old ARM kernels (`Hardware`).
 */
const FALLBACK_NAME_KEYS = ["vendor_id", "model name", "cpu model", "cpu", "uarch", "Hardware"];

/** The `cpu_name` value of parsed /proc/cpuinfo fields (see the module comment for the rule). */
export function cpuNameOf(cpuinfo: Cpuinfo): string {
  // The original read line by line and stopped (crashed) at the first blank line.
  for (const [, value] of cpuinfo.firstBlock) {
    if (ORIGINAL_NAME_WORDS.some((word) => value.includes(word))) return value;
  }
  const firstValues = new Map<string, string>();
  for (const [key, value] of cpuinfo.fields) {
    if (value !== "" && !firstValues.has(key)) firstValues.set(key, value);
  }
  const implementer = firstValues.get("CPU implementer");
  if (implementer !== undefined && /^0x[0-9a-f]+$/i.test(implementer)) {
    const vendor = ARM_IMPLEMENTERS.get(Number(implementer));
    if (vendor !== undefined) return vendor;
  }
  for (const key of FALLBACK_NAME_KEYS) {
    const value = firstValues.get(key);
    if (value !== undefined) return value;
  }
  return "unknown";
}

/** The parsed text, or undefined for a text that is not cpuinfo (empty, garbage). */
function tryParseCpuinfo(text: string): Cpuinfo | undefined {
  try {
    return parseCpuinfo(text);
  } catch (error) {
    if (error instanceof ProcParseError) return undefined;
    throw error;
  }
}

/**
 * The `cpu_name` value of a /proc/cpuinfo text (see the module comment for the rule); never
 * throws, whatever the text holds: `unknown` for a text that is not cpuinfo.
 */
export function cpuName(text: string): string {
  const cpuinfo = tryParseCpuinfo(text);
  return cpuinfo === undefined ? "unknown" : cpuNameOf(cpuinfo);
}

/**
 * CPUs listed by the `processor : N` lines of /proc/cpuinfo (highest N + 1); 1 when the file
 * has none, as uniprocessor ARM kernels print it; 0 for a text that is not cpuinfo (empty).
 */
export function cpuinfoProcessorCount(text: string): number {
  const cpuinfo = tryParseCpuinfo(text);
  return cpuinfo === undefined ? 0 : processorCount(cpuinfo);
}

/** The two lines of `GetCpuInfo`. */
export function formatCpuInfo(info: { cpuCount: number; name: string }): string {
  return `cpunr: ${info.cpuCount}\ncpu_name: ${info.name}\n`;
}

/**
 * The `GetCpuInfo` collector. `cpunr` is the highest `cpuK` of /sys/devices/system/cpu + 1
 * (offline CPUs count), else from /proc/stat, else from the `processor` lines of /proc/cpuinfo
 * (captured trees without /sys). A missing /proc/cpuinfo gives `cpu_name: unknown`, not an
 * error: the count is what the client needs.
 */
export const cpuInfoCollector: Collector = {
  collect({ fs }) {
    return Promise.try(() => formatCpuInfo(readCpuInfo(fs)));
  },
  json({ fs }) {
    return Promise.try(() => {
      const { cpuCount, name } = readCpuInfo(fs);
      return { cpunr: cpuCount, cpu_name: name };
    });
  },
  schema: {
    type: "object",
    fields: {
      cpunr: { type: "integer", description: "CPUs, offline ones included" },
      cpu_name: { type: "string", description: "the vendor, as the text's cpu_name" },
    },
  } satisfies Schema,
};

/**
 * What GetCpuInfo reads of /proc/cpuinfo, which cannot change while the kernel runs: the name
 * and the processor count (the count where /sys lists no CPU). Read once per tree: on x86 a read
 * of /proc/cpuinfo can make the kernel interrupt other CPUs for their current frequency (107
 * function-call IPIs over 200 reads on a 2-vCPU VM with Linux 6.18, against 15 for
 * /proc/meminfo), a cost put on the machine under study at each poll for a value GetCpuInfo
 * does not show.
 */
const cpuinfoFacts = new WeakMap<ProcFs, { name: string; processors: number }>();

function cpuinfoFactsOf(fs: ProcFs): { name: string; processors: number } | undefined {
  let facts = cpuinfoFacts.get(fs);
  if (facts === undefined) {
    const text = fs.tryReadTextSync(CPUINFO_PATH);
    const cpuinfo = text === undefined ? undefined : tryParseCpuinfo(text);
    // An unreadable or unparsable file is asked again next time.
    if (cpuinfo === undefined) return undefined;
    facts = { name: cpuNameOf(cpuinfo), processors: processorCount(cpuinfo) };
    cpuinfoFacts.set(fs, facts);
  }
  return facts;
}

function readCpuInfo(fs: ProcFs): { cpuCount: number; name: string } {
  const cpuinfo = cpuinfoFactsOf(fs);
  const numbers = cpuNumbers(fs);
  const highest = numbers.at(-1);
  const cpuCount = highest !== undefined
    ? highest + 1
    : cpuinfo === undefined
    ? 0
    : cpuinfo.processors;
  if (cpuCount === 0) {
    throw new MethodFailure(
      `Cannot count CPUs: "/sys/devices/system/cpu" has no cpuN directory and neither ` +
        `"/proc/stat" nor "/proc/cpuinfo" lists a CPU`,
    );
  }
  return { cpuCount, name: cpuinfo === undefined ? "unknown" : cpuinfo.name };
}
