/**
 * What a Prometheus scrape costs: the CPU time the exporter process spends per scrape of
 * `/metrics`, read from its /proc/<pid>/stat, for lepd (`--metrics-listen`, with and without
 * the process family) and, where installed, node_exporter side by side — once with its default
 * collectors and once with only the seven whose families lepd shares.
 *
 * Each exporter is scraped as Prometheus scrapes it (its Accept header, gzip allowed, one
 * kept-alive connection): first back to back, which is the work itself, then at a fixed period,
 * which adds what waking an idle process costs — the case of a real scrape every 15 s.
 *
 * ```sh
 * deno run -A --unstable-worker-options bench/scrape.ts --scrapes 300 --paced 20 --period 1
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { freePort, startDaemon } from "../tests/helpers/daemon.ts";
import { cpuTicks, median } from "./measure.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    scrapes: { type: "string", default: "300" },
    paced: { type: "string", default: "20" },
    period: { type: "string", default: "1" },
  },
});
const backToBack = Number(values.scrapes);
const paced = Number(values.paced);
const periodMs = Number(values.period) * 1000;

/** Prometheus 2.42's Accept header. */
const ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" +
  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const TICK_MS = 1000 / 100;
const SHARED_COLLECTORS = [
  "cpu",
  "diskstats",
  "filesystem",
  "loadavg",
  "meminfo",
  "stat",
  "vmstat",
];

interface Result {
  name: string;
  samples: number;
  bytes: number;
  backToBackMs: number;
  medianLatencyMs: number;
  pacedMs: number;
}

async function scrapeOnce(url: string): Promise<{ text: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { Accept: ACCEPT } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return { text, ms: performance.now() - started };
}

async function measure(name: string, url: string, pid: number): Promise<Result> {
  let last = "";
  for (let index = 0; index < 10; index++) {
    last = (await scrapeOnce(url)).text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const latencies: number[] = [];
  let ticks = cpuTicks(pid);
  for (let index = 0; index < backToBack; index++) latencies.push((await scrapeOnce(url)).ms);
  const backToBackMs = (cpuTicks(pid) - ticks) * TICK_MS / backToBack;
  ticks = cpuTicks(pid);
  const started = performance.now();
  for (let index = 0; index < paced; index++) {
    const due = started + (index + 1) * periodMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    await scrapeOnce(url);
  }
  const pacedMs = (cpuTicks(pid) - ticks) * TICK_MS / paced;
  return {
    name,
    samples: last.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length,
    bytes: new TextEncoder().encode(last).length,
    backToBackMs,
    medianLatencyMs: median(latencies),
    pacedMs,
  };
}

async function lepd(name: string, extra: string[]): Promise<Result> {
  const port = freePort();
  const daemon = await startDaemon(["--metrics-listen", `127.0.0.1:${port}`, ...extra]);
  try {
    return await measure(name, `http://127.0.0.1:${port}/metrics`, daemon.process.pid);
  } finally {
    await daemon.stop();
  }
}

function findNodeExporter(): string | undefined {
  for (const program of ["prometheus-node-exporter", "node_exporter"]) {
    for (const directory of (Deno.env.get("PATH") ?? "").split(":")) {
      try {
        if (Deno.statSync(`${directory}/${program}`).isFile) return `${directory}/${program}`;
      } catch {
        // not there
      }
    }
  }
  return undefined;
}

async function nodeExporter(program: string, name: string, extra: string[]): Promise<Result> {
  const port = freePort();
  const child = new Deno.Command(program, {
    args: [`--web.listen-address=127.0.0.1:${port}`, ...extra],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${port}/metrics`;
    for (let attempt = 0;; attempt++) {
      try {
        await scrapeOnce(url);
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return await measure(name, url, child.pid);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

const results: Result[] = [];
results.push(await lepd("lepd (top 10 processes)", []));
results.push(await lepd("lepd (no process family)", ["--metrics-top-processes", "0"]));
const program = findNodeExporter();
if (program === undefined) {
  console.log("node_exporter is not installed (Debian package prometheus-node-exporter)");
} else {
  results.push(await nodeExporter(program, "node_exporter (default collectors)", []));
  results.push(
    await nodeExporter(program, "node_exporter (lepd's 7 collectors)", [
      "--collector.disable-defaults",
      ...SHARED_COLLECTORS.map((collector) => `--collector.${collector}`),
    ]),
  );
}

console.log(
  `${backToBack} scrapes back to back, then ${paced} at a ${periodMs / 1000} s period; ` +
    `CPU ms per scrape from /proc/<pid>/stat (10 ms ticks)`,
);
console.log(
  "exporter".padEnd(38) + "samples".padStart(8) + "bytes".padStart(8) +
    "cpu ms b2b".padStart(12) + "median ms".padStart(11) + "cpu ms paced".padStart(14),
);
for (const result of results) {
  console.log(
    result.name.padEnd(38) + String(result.samples).padStart(8) +
      String(result.bytes).padStart(8) + result.backToBackMs.toFixed(2).padStart(12) +
      result.medianLatencyMs.toFixed(2).padStart(11) + result.pacedMs.toFixed(2).padStart(14),
  );
}
