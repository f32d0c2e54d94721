/**
 * What the two reference servers of `bench/footprint.ts` share: finding method names in the
 * bytes of a read, reading a /proc file into a reused buffer, and the legacy response shape.
 *
 * The references answer `SayHello` with `Hello!`, a `GetProc*` method with its /proc file, and
 * every other method with /proc/meminfo: the cheapest honest work, so that they measure what a
 * Deno server pays per request before any collector runs.
 *
 * @module
 */

const PROC_FILES: Record<string, string> = {
  GetProcMeminfo: "/proc/meminfo",
  GetProcStat: "/proc/stat",
  GetProcLoadavg: "/proc/loadavg",
  GetProcCpuinfo: "/proc/cpuinfo",
  GetProcVmstat: "/proc/vmstat",
  GetProcDiskstats: "/proc/diskstats",
  GetProcInterrupts: "/proc/interrupts",
  GetProcSoftirqs: "/proc/softirqs",
};

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const scratch = new Uint8Array(256 * 1024);
const METHOD = /"method"\s*:\s*"([^"]*)"/g;

/** Every method name requested in one read (requests are assumed not to straddle reads). */
export function methodsIn(bytes: Uint8Array): string[] {
  return Array.from(decoder.decode(bytes).matchAll(METHOD), (match) => match[1]!);
}

/** Reads a whole file synchronously into a reused buffer. */
function readSync(path: string): string {
  const file = Deno.openSync(path);
  try {
    let total = 0;
    while (true) {
      const count = file.readSync(scratch.subarray(total));
      if (count === null || count === 0) break;
      total += count;
    }
    return decoder.decode(scratch.subarray(0, total));
  } finally {
    file.close();
  }
}

/** The text a reference server answers for `method`. */
export function answer(method: string): string {
  if (method === "SayHello") return "Hello!";
  return readSync(PROC_FILES[method] ?? "/proc/meminfo");
}

/** The legacy response bytes for a method's text (without the chunk padding). */
export function encodeLegacy(text: string): Uint8Array {
  return encoder.encode(`{\n\t"result":\t${JSON.stringify(text + "lepdendstring")}\n}\n`);
}

/**
 * Answers the requests of one connection in order until the client closes: each method name
 * found in a read gets `answer`'s text, encoded and written whole.
 */
export async function serveConnection(
  conn: Deno.Conn,
  answer: (method: string) => string | Promise<string>,
): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    while (true) {
      const count = await conn.read(buffer);
      if (count === null) break;
      for (const method of methodsIn(buffer.subarray(0, count))) {
        // A synchronous answer is not awaited: the bare reference stays one isolate, no hop.
        const text = answer(method);
        const bytes = encodeLegacy(typeof text === "string" ? text : await text);
        let offset = 0;
        while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
      }
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}
