/**
 * The Prometheus endpoint against the real tools, each test skipped with its reason where the
 * tool is missing (Debian packages `prometheus` and `prometheus-node-exporter`; .ci/run installs
 * them as root):
 *
 * - `promtool check metrics` on a live scrape: no error, and no lint finding but the camelCase
 *   one node_exporter's own meminfo names draw;
 * - a real Prometheus server on loopback (temporary config and data, 1 s scrape interval, free
 *   ports) scrapes lepd — OpenMetrics, as Prometheus asks for it first — and `up`, MemTotal and
 *   a counter's metadata are read back through its HTTP query API;
 * - node_exporter scraped between two lepd scrapes: every node_* family lepd shows has
 *   node_exporter's name, type and label names; the series agree; slow-moving values are equal
 *   (MemTotal, boot time, file-system size) and counters lie between lepd's two readings.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort, startDaemon } from "./helpers/daemon.ts";
import { type ParsedFamily, parseExposition } from "./helpers/exposition.ts";
import { onPath, skipUnless } from "./helpers/skip.ts";

const HAS_PROMTOOL = onPath("promtool");
const HAS_PROMETHEUS = onPath("prometheus");
const NODE_EXPORTER = ["prometheus-node-exporter", "node_exporter"].find(onPath);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET a URL's body as text; throws on a non-2xx status. */
async function fetchText(url: string, accept = "text/plain;version=0.0.4"): Promise<string> {
  const response = await fetch(url, { headers: { Accept: accept } });
  const body = await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${body.slice(0, 200)}`);
  return body;
}

/** Polls `probe` until it returns a value, for up to `ms`. */
async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>) {
  const deadline = performance.now() + ms;
  let lastError: unknown;
  while (performance.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  throw new Error(`Timed out waiting for ${what}${lastError ? `: ${lastError}` : ""}`);
}

/** A child process started for a test, stopped (SIGTERM, then SIGKILL) at the end. */
async function withChild<T>(
  program: string,
  args: string[],
  body: (output: () => string) => Promise<T>,
): Promise<T> {
  const child = new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const draining = Promise.all([drain(child.stdout), drain(child.stderr)]);
  try {
    return await body(() => output);
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited meanwhile
      }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
    await draining;
  }
}

Deno.test({
  name: "promtool check metrics accepts a live scrape",
  ignore: skipUnless(HAS_PROMTOOL, "promtool is not installed (Debian package prometheus)"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metricsPort = freePort();
    const daemon = await startDaemon(["--metrics-listen", `127.0.0.1:${metricsPort}`]);
    try {
      // Two scrapes, so the process family has its samples too.
      await fetchText(`http://127.0.0.1:${metricsPort}/metrics`);
      await sleep(600);
      const text = await fetchText(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.ok(text.includes("lepd_process_cpu_percent{"), "process samples are present");
      const child = new Deno.Command("promtool", {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(text));
      await writer.close();
      const { code, stdout, stderr } = await child.output();
      const report = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      // promtool's linter wants snake_case; node_exporter's meminfo names (MemTotal …) are
      // kept as node_exporter spells them, so that finding, and only it, is expected.
      const findings = report.split("\n").filter((line) => line.trim() !== "");
      const unexpected = findings.filter((line) =>
        !/^node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'$/
          .test(line)
      );
      assert.deepEqual(unexpected, [], `promtool (exit ${code}):\n${report}`);
      assert.ok(code === 0 || findings.length > 0, `promtool exit ${code}`);
    } finally {
      await daemon.stop();
    }
  },
});

Deno.test({
  name: "a real Prometheus server scrapes lepd: up is 1 and MemTotal reads back",
  ignore: skipUnless(HAS_PROMETHEUS, "prometheus is not installed (Debian package prometheus)"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metricsPort = freePort();
    const daemon = await startDaemon(["--metrics-listen", `127.0.0.1:${metricsPort}`]);
    const dir = await Deno.makeTempDir({ prefix: "lepd-prometheus-" });
    try {
      const webPort = freePort();
      await Deno.writeTextFile(
        `${dir}/prometheus.yml`,
        [
          "global:",
          "  scrape_interval: 1s",
          "  scrape_timeout: 1s",
          "  evaluation_interval: 1s",
          "scrape_configs:",
          "  - job_name: lepd",
          "    static_configs:",
          `      - targets: ["127.0.0.1:${metricsPort}"]`,
          "",
        ].join("\n"),
      );
      await withChild("prometheus", [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        "--log.level=warn",
      ], async (output) => {
        const api = `http://127.0.0.1:${webPort}/api/v1`;
        const query = async (promql: string): Promise<string | undefined> => {
          const body = JSON.parse(
            await fetchText(`${api}/query?query=${encodeURIComponent(promql)}`),
          ) as { data: { result: { value: [number, string] }[] } };
          return body.data.result[0]?.value[1];
        };
        try {
          const up = await eventually('up{job="lepd"}', 60_000, () => query('up{job="lepd"}'));
          assert.equal(up, "1");
          const memTotal = await eventually(
            "node_memory_MemTotal_bytes",
            30_000,
            () => query('node_memory_MemTotal_bytes{job="lepd"}'),
          );
          const meminfo = await Deno.readTextFile("/proc/meminfo");
          assert.equal(Number(memTotal), Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)![1]) * 1024);
          // Process samples need two scrapes; they arrive a second later.
          const processes = await eventually(
            "lepd_process_cpu_percent",
            30_000,
            () => query('count(lepd_process_cpu_percent{job="lepd"})'),
          );
          assert.ok(Number(processes) >= 1 && Number(processes) <= 10);
          // Prometheus asked for OpenMetrics, where a counter's family is named without
          // `_total`: the metadata shows which format it parsed.
          const metadata = JSON.parse(
            await fetchText(`${api}/metadata?metric=node_cpu_seconds`),
          ) as { data: Record<string, { type: string }[]> };
          assert.equal(metadata.data.node_cpu_seconds?.[0]?.type, "counter");
          const failures = await query('sum(lepd_scrape_collector_success{job="lepd"} == 0)');
          assert.equal(failures, undefined, "no collector fails on this machine");
        } catch (error) {
          console.log(`prometheus output:\n${output()}`);
          throw error;
        }
      });
    } finally {
      await daemon.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Series of a family keyed by their sorted labels. */
function seriesOf(family: ParsedFamily): Map<string, number> {
  return new Map(
    family.samples.map((sample) => [
      `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`,
      sample.value,
    ]),
  );
}

function labelNames(family: ParsedFamily): string[] {
  return [...new Set(family.samples.flatMap((sample) => Object.keys(sample.labels)))].sort();
}

Deno.test({
  name: "node_exporter agrees: names, types, labels and values of the shared families",
  ignore: skipUnless(
    NODE_EXPORTER !== undefined,
    "node_exporter is not installed (Debian package prometheus-node-exporter)",
  ),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metricsPort = freePort();
    const exporterPort = freePort();
    const daemon = await startDaemon([
      "--metrics-listen",
      `127.0.0.1:${metricsPort}`,
      "--metrics-top-processes",
      "0",
    ]);
    try {
      await withChild(NODE_EXPORTER!, [
        `--web.listen-address=127.0.0.1:${exporterPort}`,
        "--collector.disable-defaults",
        ...["cpu", "diskstats", "filesystem", "loadavg", "meminfo", "stat", "vmstat"].map((
          name,
        ) => `--collector.${name}`),
      ], async () => {
        const exporterUrl = `http://127.0.0.1:${exporterPort}/metrics`;
        await eventually("node_exporter", 30_000, () => fetchText(exporterUrl));
        const lepdUrl = `http://127.0.0.1:${metricsPort}/metrics`;
        const before = parseExposition(await fetchText(lepdUrl));
        const exporter = parseExposition(await fetchText(exporterUrl));
        const after = parseExposition(await fetchText(lepdUrl));

        const shared = [...after.keys()].filter((name) => name.startsWith("node_"));
        const missing = shared.filter((name) => !exporter.has(name));
        assert.deepEqual(missing, [], "every node_* family lepd shows, node_exporter shows");
        const onlyExporter = [...exporter.keys()].filter((name) =>
          name.startsWith("node_") && !name.startsWith("node_scrape_") && !after.has(name)
        );
        console.log(`node_exporter families lepd does not show: ${onlyExporter.join(" ")}`);

        for (const name of shared) {
          const mine = after.get(name)!;
          const theirs = exporter.get(name)!;
          assert.equal(mine.type, theirs.type, `${name}: type`);
          assert.deepEqual(labelNames(mine), labelNames(theirs), `${name}: label names`);
          const mySeries = seriesOf(mine);
          const theirSeries = seriesOf(theirs);
          // node_exporter leaves out more mounts (/dev, /run, tmpfs …) than df does.
          const expected = name.startsWith("node_filesystem_")
            ? [...theirSeries.keys()]
            : [...new Set([...mySeries.keys(), ...theirSeries.keys()])];
          for (const key of expected) {
            assert.ok(mySeries.has(key), `${name}: lepd has ${key}`);
            assert.ok(theirSeries.has(key), `${name}: node_exporter has ${key}`);
          }

          const earlier = seriesOf(before.get(name)!);
          for (const key of expected) {
            const value = theirSeries.get(key)!;
            const first = earlier.get(key)!;
            const last = mySeries.get(key)!;
            if (mine.type === "counter" || name.startsWith("node_vmstat_")) {
              // NO_HZ idle and iowait may step back by a tick; ticks are 10 ms.
              // node_exporter multiplies by 0.001 where lepd divides by 1000: the last bit.
              const slack = (name === "node_cpu_seconds_total" ? 0.05 : 0) +
                Math.abs(value) * 1e-12;
              assert.ok(
                first - slack <= value && value <= last + slack,
                `${name} ${key}: node_exporter's ${value} lies between lepd's ${first} and ${last}`,
              );
            } else if (
              name === "node_memory_MemTotal_bytes" || name === "node_boot_time_seconds" ||
              name === "node_filesystem_size_bytes" || name.startsWith("node_memory_HugePages")
            ) {
              assert.equal(last, value, `${name} ${key}`);
            } else if (name.startsWith("node_filesystem_")) {
              // Free space moves with every write on the machine: within 1 % of the size.
              const size = seriesOf(after.get("node_filesystem_size_bytes")!).get(
                key.replace(name, "node_filesystem_size_bytes"),
              )!;
              assert.ok(
                Math.abs(last - value) <= size / 100,
                `${name} ${key}: ${last} vs ${value}`,
              );
            }
          }
        }
      });
    } finally {
      await daemon.stop();
    }
  },
});
