/**
 * The Prometheus exposition formats: metric families as plain data, and their rendering as the
 * text format 0.0.4 or OpenMetrics 1.0 text, chosen from a scraper's `Accept` header.
 *
 * Families are plain objects (arrays of label pairs, numbers) so that the main isolate can build
 * them and post them to the network worker, which renders them: the main isolate never sees a
 * byte of the HTTP request, not even the format it asked for.
 *
 * @module
 */

/** A family's type. `untyped` is written `unknown` in OpenMetrics. */
export type MetricType = "counter" | "gauge" | "summary" | "untyped";

/** One sample: its labels in order, its value and, for a summary, which part it is. */
export interface Sample {
  labels: readonly (readonly [name: string, value: string])[];
  value: number;
  /** A summary's `_sum` or `_count` sample; absent for every other type. */
  suffix?: "_sum" | "_count";
}

/**
 * One metric family. A counter's name ends in `_total` as its samples are named (node_exporter's
 * convention); OpenMetrics' TYPE and HELP lines name it without the suffix.
 */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

/** The formats a scraper can get. */
export type ExpositionFormat = "text" | "openmetrics";

/** `Content-Type` of each format. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** True for a valid metric name. */
export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** True for a valid label name (names starting with `__` are reserved for Prometheus). */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith("__");
}

/**
 * A metric name made from arbitrary text: every character outside `[a-zA-Z0-9_:]` becomes `_`,
 * and a leading digit gets a `_` before it.
 */
export function toMetricName(text: string): string {
  const name = text.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(name) || name === "" ? `_${name}` : name;
}

/** A label value as both formats quote it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => char === "\n" ? "\\n" : `\\${char}`);
}

/** HELP text: the text format escapes backslash and newline; OpenMetrics the quote as well. */
function escapeHelp(help: string, format: ExpositionFormat): string {
  const special = format === "openmetrics" ? /[\\"\n]/g : /[\\\n]/g;
  return help.replace(special, (char) => char === "\n" ? "\\n" : `\\${char}`);
}

/** A value as both formats write it: `+Inf`, `-Inf`, `NaN`, or the shortest exact decimal. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatLabels(labels: Sample["labels"]): string {
  if (labels.length === 0) return "";
  return "{" + labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",") +
    "}";
}

/** The name a family has on its TYPE and HELP lines in `format`. */
function headName(family: MetricFamily, format: ExpositionFormat): string {
  if (format === "openmetrics" && family.type === "counter" && family.name.endsWith("_total")) {
    return family.name.slice(0, -"_total".length);
  }
  return family.name;
}

/**
 * Renders families in `format`, each as HELP, TYPE and its samples in the order given; families
 * without samples are left out. OpenMetrics ends with `# EOF`.
 */
export function render(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const lines: string[] = [];
  for (const family of families) {
    if (family.samples.length === 0) continue;
    const head = headName(family, format);
    const type = format === "openmetrics" && family.type === "untyped" ? "unknown" : family.type;
    lines.push(`# HELP ${head} ${escapeHelp(family.help, format)}`, `# TYPE ${head} ${type}`);
    for (const sample of family.samples) {
      lines.push(
        `${family.name}${sample.suffix ?? ""}${formatLabels(sample.labels)} ${
          formatValue(sample.value)
        }`,
      );
    }
  }
  if (format === "openmetrics") lines.push("# EOF");
  return lines.join("\n") + "\n";
}

/** One media range of an `Accept` header. */
interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(",")) {
    const [type = "", ...rawParams] = part.split(";").map((piece) => piece.trim());
    if (type === "") continue;
    const params = new Map<string, string>();
    for (const raw of rawParams) {
      const equals = raw.indexOf("=");
      if (equals <= 0) continue;
      params.set(
        raw.slice(0, equals).trim().toLowerCase(),
        raw.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1"),
      );
    }
    const q = params.has("q") ? Number(params.get("q")) : 1;
    ranges.push({ type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 });
  }
  return ranges;
}

/**
 * The format for a scraper's `Accept` header: OpenMetrics 1.0 when
 * `application/openmetrics-text` (without a version, or version 1.0.0) has the highest
 * quality of the ranges lepd can serve, the text format 0.0.4 otherwise (also for no header,
 * `*` wildcards and anything unknown). Ties go to the range listed first.
 */
export function negotiateFormat(accept: string | null | undefined): ExpositionFormat {
  if (accept === null || accept === undefined) return "text";
  let best: { format: ExpositionFormat; q: number } | undefined;
  for (const range of parseAccept(accept)) {
    if (range.q <= 0) continue;
    const version = range.params.get("version");
    let format: ExpositionFormat | undefined;
    if (range.type === "application/openmetrics-text") {
      if (version === undefined || version === "1.0.0") format = "openmetrics";
    } else if (range.type === "text/plain") {
      if (version === undefined || version === "0.0.4") format = "text";
    } else if (range.type === "*/*" || range.type === "text/*") {
      format = "text";
    }
    if (format !== undefined && (best === undefined || range.q > best.q)) {
      best = { format, q: range.q };
    }
  }
  return best?.format ?? "text";
}
