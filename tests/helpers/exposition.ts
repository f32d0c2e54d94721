/**
 * A strict reader of the Prometheus text format 0.0.4 (and OpenMetrics 1.0 text, which shares
 * its sample lines), for tests: it throws on anything the format does not allow, so a test that
 * parses lepd's output also checks it.
 *
 * @module
 */

/** One sample line. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One family: its TYPE, HELP and samples, under the name of its TYPE line. */
export interface ParsedFamily {
  type: string;
  help: string;
  samples: ParsedSample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(\\{.*\\})? (\\S+)( -?\\d+)?$`);

/** Parses `{a="x",b="y\\"z"}`, undoing the escapes; throws on anything malformed. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text.slice(1, -1);
  while (rest.length > 0) {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest);
    if (match === null) throw new Error(`Bad label in ${text}`);
    let index = match[0].length;
    let value = "";
    while (rest[index] !== '"') {
      if (index >= rest.length) throw new Error(`Unterminated label value in ${text}`);
      if (rest[index] === "\\") {
        const next = rest[index + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`Bad escape in ${text}`);
        index += 2;
      } else {
        if (rest[index] === "\n") throw new Error(`Raw newline in ${text}`);
        value += rest[index];
        index++;
      }
    }
    if (Object.hasOwn(labels, match[1]!)) throw new Error(`Label ${match[1]} twice in ${text}`);
    labels[match[1]!] = value;
    rest = rest.slice(index + 1);
    if (rest.startsWith(",")) rest = rest.slice(1);
    else if (rest.length > 0) throw new Error(`Expected a comma in ${text}`);
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`Bad value ${text}`);
  return Number(text);
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, ParsedFamily>): string | undefined {
  if (families.has(name)) return name;
  for (const suffix of ["_total", "_sum", "_count", "_bucket", "_created"]) {
    if (name.endsWith(suffix) && families.has(name.slice(0, -suffix.length))) {
      return name.slice(0, -suffix.length);
    }
  }
  return undefined;
}

/**
 * Parses an exposition. Every sample must follow the TYPE line of its family, families must not
 * be split, a label set must not repeat within a family, and OpenMetrics text must end with
 * `# EOF`.
 */
export function parseExposition(
  text: string,
  format: "text" | "openmetrics" = "text",
): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new Error("The exposition does not end with a newline");
  if (format === "openmetrics" && lines.pop() !== "# EOF") throw new Error("No # EOF");
  let current: string | undefined;
  const seen = new Set<string>();
  const help = new Map<string, string>();
  for (const line of lines) {
    if (line === "# EOF") throw new Error("# EOF before the end");
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === "HELP") {
        help.set(name, rest);
        continue;
      }
      if (families.has(name)) throw new Error(`Family ${name} declared twice`);
      families.set(name, { type: rest, help: help.get(name) ?? "", samples: [] });
      current = name;
      continue;
    }
    if (line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`Bad sample line ${JSON.stringify(line)}`);
    const name = match[1]!;
    const family = familyOf(name, families);
    if (family === undefined || family !== current) {
      throw new Error(`Sample ${name} outside its family's block`);
    }
    const labels = match[2] === undefined ? {} : parseLabels(match[2]);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`Series ${key} twice`);
    seen.add(key);
    families.get(family)!.samples.push({ name, labels, value: parseValue(match[3]!) });
  }
  return families;
}
