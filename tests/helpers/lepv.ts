/**
 * A port of what the real client, LEPV (2019 master), does with lepd's responses
 * (docs/protocol.md 1.8 and section 4): its socket reader, and the parsers of each method's text.
 * The parsers throw where LEPV's Python would raise, so a test fails exactly where the real
 * client's polling timer would die.
 *
 * @module
 */

const MARKER = new TextEncoder().encode("lepdendstring");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function removeAll(chunk: Uint8Array, needle: Uint8Array): Uint8Array {
  const kept: number[] = [];
  for (let i = 0; i < chunk.length;) {
    if (indexOf(chunk.subarray(i, i + needle.length), needle) === 0) i += needle.length;
    else kept.push(chunk[i++]!);
  }
  return new Uint8Array(kept);
}

/**
 * `LepDClient.sendRequest`: sends `json.dumps({"method": name})`, then `recv(2048)` until one
 * chunk holds the marker, removes the marker from that chunk, decodes strictly and parses JSON.
 * Reads exactly 2048 bytes at most per call, as Python's `recv(2048)` does.
 */
export async function lepvRequest(conn: Deno.Conn, method: string): Promise<{ result?: string }> {
  await conn.write(new TextEncoder().encode(JSON.stringify({ method }).replace('":', '": ')));
  const chunks: Uint8Array[] = [];
  while (true) {
    const buffer = new Uint8Array(2048);
    const count = await conn.read(buffer);
    if (count === null) throw new Error(`${method}: recv returned nothing (LEPV would spin)`);
    const chunk = buffer.subarray(0, count);
    if (indexOf(chunk, MARKER) >= 0) {
      chunks.push(removeAll(chunk, MARKER));
      break;
    }
    chunks.push(chunk);
  }
  const whole = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.length;
  }
  return JSON.parse(strictUtf8.decode(whole));
}

/** `split_to_lines`: strip, then split on real newlines and on the two characters `\n`. */
export function splitToLines(result: string): string[] {
  return result.trim().split(/\\n|\n/);
}

/** Python's `str.split()` without arguments. */
function tokens(line: string): string[] {
  return line.trim().split(/\s+/).filter((token) => token !== "");
}

function float(text: string | undefined): number {
  if (
    text === undefined || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(nan|inf)$/i.test(text)
  ) {
    throw new Error(`ValueError: could not convert string to float: ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** 4.3 `getStatus`: every line split on `:`; needs MemTotal, MemFree, Buffers, Cached. */
export function parseMeminfo(result: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of splitToLines(result)) {
    const parts = line.split(":");
    if (parts.length < 2) throw new Error(`IndexError: no colon in ${JSON.stringify(line)}`);
    values[parts[0]!.trim()] = Number.parseInt(parts[1]!.replace("kB", "").trim(), 10);
  }
  for (const key of ["MemTotal", "MemFree", "Buffers", "Cached"]) {
    if (!Number.isInteger(values[key])) throw new Error(`KeyError: ${key}`);
  }
  return values;
}

/** 4.6: the first line starting with `cpunr` → `int(line.split(':')[1])`. */
export function parseCpuCount(result: string): number {
  const line = splitToLines(result).find((candidate) => candidate.startsWith("cpunr"));
  const value = line?.split(":")[1]?.trim();
  if (value === undefined || !/^\d+$/.test(value)) throw new Error(`ValueError: ${line}`);
  return Number(value);
}

/** 4.7 `get_status`: drop 3 lines, rows until the first empty line, columns from the right. */
export function parseMpstat(result: string): Map<string, number[]> {
  const lines = splitToLines(result);
  if (lines.length < 3) throw new Error("mpstat: fewer than 3 lines");
  const rows = new Map<string, number[]>();
  for (const line of lines.slice(3)) {
    if (line.trim() === "") break;
    const columns = tokens(line);
    try {
      const values = columns.slice(-10).map(float);
      if (values.length === 10 && columns.length >= 11) {
        rows.set(columns[columns.length - 11]!, values);
      }
    } catch {
      // LEPV skips a row whose values do not parse.
    }
  }
  if (!rows.has("all")) throw new Error("KeyError: all");
  return rows;
}

/** 4.8 `get_softirq`: the rows between the 2nd and the 3rd empty line, after its header. */
export function parseMpstatSoftirqs(result: string): Map<string, Record<string, number>> {
  const lines = splitToLines(result);
  if (lines.length < 2) throw new Error("mpstat -I: fewer than 2 lines");
  const collected: string[] = [];
  let empty = 0;
  for (const line of lines.slice(2)) {
    if (line.trim() === "") empty++;
    if (empty === 3) break;
    if (empty >= 2) collected.push(line);
  }
  const softirqs = new Map<string, Record<string, number>>();
  for (const line of collected.slice(2)) {
    const columns = tokens(line);
    softirqs.set(columns[1]!, {
      HRTIMER: float(columns.at(-2)),
      TASKLET: float(columns.at(-4)),
      NET_RX: float(columns.at(-7)),
      NET_TX: float(columns.at(-8)),
    });
  }
  return softirqs;
}

/** 4.9 `get_status`: from the `Device:` line on; name, rkB/s, wkB/s, %util. */
export function parseIostat(
  result: string,
): { name: string; read: number; write: number; util: number }[] {
  const lines = result.split("\n");
  const start = lines.findIndex((line) => line.startsWith("Device:"));
  if (start < 0) throw new Error("iostat: no Device: header");
  return lines.slice(start + 1).filter((line) => line.trim() !== "").map((line) => {
    const columns = tokens(line);
    return {
      name: columns[0]!,
      read: float(columns[5]),
      write: float(columns[6]),
      util: float(columns.at(-1)),
    };
  });
}

/** 4.10 `get_capacity`: lines starting with `/dev/`; the last one is reported. */
export function parseDf(
  result: string,
): { name: string; size: string; used: string; free: string }[] {
  const rows = splitToLines(result).filter((line) => line.startsWith("/dev/")).map((line) => {
    const columns = tokens(line);
    if (columns.length < 4) throw new Error(`IndexError: ${line}`);
    return { name: columns[0]!.slice(5), size: columns[1]!, used: columns[2]!, free: columns[3]! };
  });
  return rows;
}

/** 4.11 `getTopOutput`: header by regex, at most 26 rows mapped positionally, CMD takes the rest. */
export function parseTop(result: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = splitToLines(result);
  const start = lines.findIndex((line) => /^\W*PID\W+USER\W+/i.test(line));
  if (start < 0) throw new Error("top: no header");
  const header = tokens(lines[start]!);
  const rows = lines.slice(start + 1, start + 27).map((line) => {
    const columns = tokens(line);
    const row: Record<string, string> = {};
    header.forEach((name, index) => {
      if (name === "CMD" || name === "Name") row[name] = columns.slice(index).join(" ");
      else if (index >= columns.length) throw new Error(`IndexError: ${line}`);
      else row[name] = columns[index]!;
    });
    return row;
  });
  return { header, rows };
}

/** 4.12 `get_io_top`: rows after the header, rates and percentages by regex. */
export function parseIotop(result: string): Record<string, string>[] {
  const lines = splitToLines(result);
  if (lines.length < 2) throw new Error("iotop: fewer than 2 lines");
  const header = /\W*TID\W+PRIO\W+USER\W+DISK READ\W+DISK WRITE\W+SWAPIN\W+IO\W+COMMAND\W*/i;
  const start = lines.findIndex((line) => header.test(line.trim()));
  if (start < 0) throw new Error("iotop: skipped past the end looking for the header");
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") continue;
    const rates = [...line.matchAll(/\s*\d+\.\d{2}\s*[GMKB|]\/s\s+/g)].map((match) =>
      match[0].trim()
    );
    const percents = [...line.matchAll(/\s*\d+\.\d{2}\s*%\s+/g)].map((match) => match[0].trim());
    if (rates.length < 2 || percents.length < 2) continue;
    const columns = tokens(line);
    rows.push({
      TID: columns[0]!,
      PRIO: columns[1]!,
      USER: columns[2]!,
      READ: rates[0]!,
      WRITE: rates[1]!,
      SWAPIN: percents[0]!,
      IO: percents[1]!,
      COMMAND: line.slice(line.lastIndexOf("%") + 1),
    });
  }
  return rows;
}

/** 4.13 `getProcrank`: rows until the dashes, then the TOTAL and RAM: summary. */
export function parseProcrank(result: string): {
  rows: { pid: number; vss: number; rss: number; pss: number; uss: number; cmdline: string }[];
  totalPss: number;
  totalUss: number;
  ram: Record<string, number>;
} {
  const lines = splitToLines(result);
  const rows = [];
  for (const line of lines.slice(1)) {
    if (/\W+-+\W+-+\W-+/.test(line)) break;
    const columns = tokens(line);
    const kib = (index: number) => {
      const value = columns[index];
      if (value === undefined) throw new Error(`IndexError: ${line}`);
      return float(value.slice(0, -1));
    };
    rows.push({
      pid: Number(columns[0]),
      vss: kib(1),
      rss: kib(2),
      pss: kib(3),
      uss: kib(4),
      cmdline: columns.slice(5).join(" "),
    });
  }
  const last = lines.at(-1)!;
  const total = lines.at(-3)!;
  if (!last.startsWith("RAM:") || !total.endsWith("TOTAL")) throw new Error("procrank: no summary");
  const ram: Record<string, number> = {};
  for (const part of last.slice(4).split(", ")) {
    const [amount = "", name = ""] = part.trim().split(" ");
    ram[name] = float(amount.slice(0, -1));
  }
  const totals = tokens(total);
  return {
    rows,
    totalPss: float(totals.at(-3)!.slice(0, -1)),
    totalUss: float(totals.at(-2)!.slice(0, -1)),
    ram,
  };
}
