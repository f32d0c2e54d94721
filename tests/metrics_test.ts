/**
 * The Prometheus endpoint: the exposition formats (escaping, OpenMetrics' differences, content
 * negotiation), the families from every fixture tree against golden files
 * (`tests/fixtures/<tree>/expected/metrics.txt`; `UPDATE_GOLDEN=1` rewrites them), process
 * shares over an interval, a failing source, and the HTTP side of the real daemon: status codes,
 * keep-alive, bounds and the flags.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Scraper } from "../metrics/scrape.ts";
import { ProcFs } from "../proc/fs.ts";
import { parseFlags, UsageError } from "../main.ts";
import {
  CONTENT_TYPES,
  escapeLabelValue,
  formatValue,
  type MetricFamily,
  negotiateFormat,
  render,
  toMetricName,
} from "../metrics/exposition.ts";
import { IGNORED_DISKS, meminfoFamilies } from "../metrics/node.ts";
import {
  findHeadEnd,
  MAX_HEAD_BYTES,
  MAX_METRICS_CONNECTIONS,
  parseRequestHead,
} from "../rpc/metrics_http.ts";
import { listenAddress, workerPermissions } from "../rpc/worker_host.ts";
import { freePort, startDaemon } from "./helpers/daemon.ts";
import { parseExposition } from "./helpers/exposition.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** Trees with at least one file a collector reads; each has a golden `expected/metrics.txt`. */
const GOLDEN_TREES = [
  "aarch64-bubblegum96",
  "aarch64-offline-cpu",
  "armv7-keystone2-gic",
  "cgroup-v1",
  "cgroup-v2",
  "disks-mixed",
  "synthetic-odd",
  "synthetic-processes",
  "synthetic-smaps",
  "x86_64-vm",
];

/** Every mount point the fake statfs is asked about reports the same sizes. */
const FAKE_SIZES = {
  totalBytes: 64n * 1024n ** 3n,
  usedBytes: 16n * 1024n ** 3n,
  availableBytes: 44n * 1024n ** 3n,
};

/** Two method counters, fixed, standing for the registry. */
const FAKE_METHODS = {
  names: () => ["SayHello", "GetCmdTop"],
  stats: (method: string) =>
    method === "SayHello"
      ? { calls: 3, failures: 0, totalMs: 0.25 }
      : { calls: 2, failures: 1, totalMs: 40 },
};

/**
 * A scraper over `root` on a virtual clock (durations read 0) with a fake statfs; scraped
 * twice, one virtual second apart, so that process shares have an interval.
 */
async function scrapeTree(root: string, topProcesses = 5): Promise<MetricFamily[]> {
  let now = 0;
  const scraper = new Scraper({
    fs: new ProcFs({ root, maxFileBytes: 1 << 24 }),
    methods: FAKE_METHODS,
    topProcesses,
    version: "0.0.0-test",
    statSizes: () => Promise.resolve(FAKE_SIZES),
    now: () => now,
  });
  await scraper.scrape();
  now = 1000;
  return await scraper.scrape();
}

function familyNamed(families: readonly MetricFamily[], name: string): MetricFamily {
  const family = families.find((candidate) => candidate.name === name);
  assert.ok(family !== undefined, `family ${name} is present`);
  return family;
}

Deno.test("exposition: label values escape backslash, quote and newline; HELP per format", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const family: MetricFamily = {
    name: "x_total",
    help: 'back\\slash "quoted"\nnext',
    type: "counter",
    samples: [{ labels: [["path", 'C:\\ "x"\n']], value: 1 }],
  };
  assert.equal(
    render([family], "text"),
    '# HELP x_total back\\\\slash "quoted"\\nnext\n# TYPE x_total counter\n' +
      'x_total{path="C:\\\\ \\"x\\"\\n"} 1\n',
  );
  assert.equal(
    render([family], "openmetrics"),
    '# HELP x back\\\\slash \\"quoted\\"\\nnext\n# TYPE x counter\n' +
      'x_total{path="C:\\\\ \\"x\\"\\n"} 1\n# EOF\n',
  );
  const parsed = parseExposition(render([family], "text"));
  assert.equal(parsed.get("x_total")!.samples[0]!.labels.path, 'C:\\ "x"\n');
});

Deno.test("exposition: values, untyped as unknown, summaries, empty families left out", () => {
  assert.deepEqual(
    [Number.NaN, Infinity, -Infinity, 0, -0, 1.5, 2e21, 1e-7].map(formatValue),
    ["NaN", "+Inf", "-Inf", "0", "0", "1.5", "2e+21", "1e-7"],
  );
  const families: MetricFamily[] = [
    { name: "u", help: "h", type: "untyped", samples: [{ labels: [], value: 1 }] },
    { name: "empty", help: "h", type: "gauge", samples: [] },
    {
      name: "d_seconds",
      help: "h",
      type: "summary",
      samples: [
        { labels: [["m", "a"]], value: 0.5, suffix: "_sum" },
        { labels: [["m", "a"]], value: 2, suffix: "_count" },
      ],
    },
  ];
  assert.equal(
    render(families, "openmetrics"),
    "# HELP u h\n# TYPE u unknown\nu 1\n# HELP d_seconds h\n# TYPE d_seconds summary\n" +
      'd_seconds_sum{m="a"} 0.5\nd_seconds_count{m="a"} 2\n# EOF\n',
  );
  assert.ok(render(families, "text").includes("# TYPE u untyped\n"));
  assert.equal(toMetricName("Active(anon)"), "Active_anon_");
  assert.equal(toMetricName("9lives"), "_9lives");
});

Deno.test("exposition: the Accept header picks OpenMetrics 1.0 or the text format", () => {
  // Prometheus 2.42's header.
  assert.equal(
    negotiateFormat(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;" +
        "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    ),
    "openmetrics",
  );
  assert.equal(negotiateFormat("application/openmetrics-text"), "openmetrics");
  assert.equal(negotiateFormat("application/openmetrics-text; version=0.0.1"), "text");
  assert.equal(
    negotiateFormat("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"),
    "text",
  );
  assert.equal(negotiateFormat("application/openmetrics-text;q=0"), "text");
  assert.equal(negotiateFormat(undefined), "text");
  assert.equal(negotiateFormat("*/*"), "text");
  assert.equal(negotiateFormat("garbage;;;,=,"), "text");
});

Deno.test("node families: meminfo names as node_exporter's, HugePages without _bytes", () => {
  const families = meminfoFamilies(
    new Map([["MemTotal", 1000], ["Active(anon)", 5], ["HugePages_Total", 3], [
      "Hugepagesize",
      2048,
    ]]),
  );
  assert.deepEqual(
    families.map((family) => [family.name, family.samples[0]!.value]),
    [
      ["node_memory_MemTotal_bytes", 1024000],
      ["node_memory_Active_anon_bytes", 5120],
      ["node_memory_HugePages_Total", 3],
      ["node_memory_Hugepagesize_bytes", 2097152],
    ],
  );
  assert.ok(IGNORED_DISKS.test("sda1") && IGNORED_DISKS.test("nvme0n1p2"));
  assert.ok(
    IGNORED_DISKS.test("loop3") && !IGNORED_DISKS.test("sda") && !IGNORED_DISKS.test("dm-0"),
  );
});

for (const tree of GOLDEN_TREES) {
  Deno.test(`golden: the exposition of ${tree} matches expected/metrics.txt`, async () => {
    const root = fileURLToPath(new URL(tree, FIXTURES));
    const text = render(await scrapeTree(root), "text");
    // Whatever the tree, the output is a valid exposition in both formats.
    parseExposition(text);
    parseExposition(render(await scrapeTree(root), "openmetrics"), "openmetrics");
    const golden = new URL(`${tree}/expected/metrics.txt`, FIXTURES);
    if (Deno.env.get("UPDATE_GOLDEN") === "1") {
      await Deno.mkdir(new URL(`${tree}/expected/`, FIXTURES), { recursive: true });
      await Deno.writeTextFile(golden, text);
    }
    assert.equal(text, await Deno.readTextFile(golden));
  });
}

Deno.test("golden x86_64-vm: every collector succeeds and the shared names are node_exporter's", async () => {
  const root = fileURLToPath(new URL("x86_64-vm", FIXTURES));
  const families = await scrapeTree(root);
  const success = familyNamed(families, "lepd_scrape_collector_success");
  // The tree has no /proc/mounts: only the filesystem collector fails.
  assert.deepEqual(
    success.samples.filter((sample) => sample.value !== 1).map((sample) => sample.labels[0]![1]),
    ["filesystem"],
  );
  const memTotal = familyNamed(families, "node_memory_MemTotal_bytes");
  const meminfo = await Deno.readTextFile(`${root}/proc/meminfo`);
  assert.equal(memTotal.samples[0]!.value, Number(/MemTotal:\s+(\d+)/.exec(meminfo)![1]) * 1024);
  const cpu = familyNamed(families, "node_cpu_seconds_total");
  assert.equal(cpu.type, "counter");
  assert.deepEqual(cpu.samples[0]!.labels.map(([name]) => name), ["cpu", "mode"]);
});

Deno.test("a source that fails sets its success to 0 and the others still answer", async () => {
  const root = fileURLToPath(new URL("aarch64-offline-cpu", FIXTURES));
  const families = await scrapeTree(root);
  const success = Object.fromEntries(
    familyNamed(families, "lepd_scrape_collector_success").samples.map((
      sample,
    ) => [sample.labels[0]![1], sample.value]),
  );
  assert.deepEqual(success, {
    cpu: 1,
    diskstats: 0,
    filesystem: 0,
    loadavg: 0,
    meminfo: 0,
    stat: 1,
    vmstat: 0,
    processes: 1,
  });
  // CPU 2 is offline: its line is absent, so are its series.
  const cpus = new Set(
    familyNamed(families, "node_cpu_seconds_total").samples.map((sample) => sample.labels[0]![1]),
  );
  assert.deepEqual([...cpus], ["0", "1", "3"]);
  assert.ok(!families.some((family) => family.name.startsWith("node_memory_")));
});

Deno.test("a hung statfs fails the filesystem collector at its deadline; scrapes share", async () => {
  const root = fileURLToPath(new URL("cgroup-v2", FIXTURES));
  const scraper = new Scraper({
    fs: new ProcFs({ root, maxFileBytes: 1 << 20 }),
    topProcesses: 0,
    version: "test",
    statSizes: () => new Promise(() => {}), // never answers
    collectorTimeoutMs: 200,
  });
  const started = performance.now();
  const [first, second] = [scraper.scrape(), scraper.scrape()];
  assert.equal(first, second, "a scrape asked for while one runs shares it");
  const families = await first;
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 150 && elapsed < 5000, `took ${elapsed} ms`);
  const success = familyNamed(families, "lepd_scrape_collector_success").samples;
  assert.deepEqual(
    success.map((sample) => [sample.labels[0]![1], sample.value]),
    [["cpu", 0], ["diskstats", 0], ["filesystem", 0], ["loadavg", 0], ["meminfo", 0], [
      "stat",
      0,
    ], ["vmstat", 0]],
  );
  assert.ok(!families.some((family) => family.name.startsWith("node_filesystem_")));
  const third = scraper.scrape();
  assert.notEqual(third, first, "the next scrape is a new one");
  await third;
});

Deno.test("lepd_process_cpu_percent: the busiest N over the interval between scrapes", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-metrics-" });
  try {
    const writeStat = async (pid: number, comm: string, utime: number, stime: number) => {
      await Deno.mkdir(`${root}/proc/${pid}`, { recursive: true });
      const fields = Array.from({ length: 50 }, () => "0");
      fields[0] = "S"; // state
      fields[11] = String(utime); // field 14
      fields[12] = String(stime); // field 15
      fields[19] = "1000"; // field 22, start time
      await Deno.writeTextFile(
        `${root}/proc/${pid}/stat`,
        `${pid} (${comm}) ${fields.join(" ")}\n`,
      );
    };
    await writeStat(10, "idle", 5, 5);
    await writeStat(20, 'we"ird\\name', 100, 0);
    await writeStat(30, "busy", 0, 0);
    let now = 0;
    const scraper = new Scraper({
      fs: new ProcFs({ root, maxFileBytes: 1 << 20 }),
      topProcesses: 2,
      version: "test",
      statSizes: () => Promise.resolve(undefined),
      now: () => now,
    });
    const first = await scraper.scrape();
    assert.equal(familyNamed(first, "lepd_process_cpu_percent").samples.length, 0);
    await writeStat(20, 'we"ird\\name', 120, 5); // 25 ticks in 2 s: 12.5 %
    await writeStat(30, "busy", 150, 50); // 200 ticks in 2 s: 100 %
    now = 2000;
    const second = familyNamed(await scraper.scrape(), "lepd_process_cpu_percent");
    assert.deepEqual(
      second.samples.map((sample) => [Object.fromEntries(sample.labels), sample.value]),
      [[{ pid: "30", comm: "busy" }, 100], [{ pid: "20", comm: 'we"ird\\name' }, 12.5]],
    );
    // A scrape within half a second reuses the interval instead of measuring 0.1 s.
    now = 2100;
    const again = familyNamed(await scraper.scrape(), "lepd_process_cpu_percent");
    assert.deepEqual(again.samples, second.samples);
    assert.ok(
      render([second], "text").includes('comm="we\\"ird\\\\name"'),
      "the label value is escaped",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("metrics HTTP: request heads are parsed strictly", () => {
  const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\nrest");
  assert.equal(findHeadEnd(bytes, bytes.length), bytes.length - 4);
  assert.equal(findHeadEnd(bytes, 10), -1);
  const head = parseRequestHead("GET /metrics?x=1 HTTP/1.1\r\nAccept: a\r\naccept: b\r\nHost: h");
  assert.deepEqual(head?.path, "/metrics");
  assert.equal(head?.headers.get("accept"), "a, b");
  assert.equal(head?.http11, true);
  assert.equal(parseRequestHead("GET /metrics HTTP/2.0"), undefined);
  assert.equal(parseRequestHead("GET /metrics HTTP/1.1\r\n folded: x"), undefined);
  assert.equal(parseRequestHead("GET  /metrics HTTP/1.1"), undefined);
  assert.equal(parseRequestHead("GET /metrics HTTP/1.1\r\nBad\x01: x"), undefined);
});

Deno.test("flags: --metrics-listen and --metrics-top-processes", () => {
  const run = (args: string[]) => {
    const command = parseFlags(args);
    assert.equal(command.kind, "run");
    return command.kind === "run" ? command.options : undefined!;
  };
  assert.equal(run([]).server.metrics, undefined);
  assert.deepEqual(run(["--metrics-listen", "127.0.0.1:9101"]).server.metrics, {
    hostname: "127.0.0.1",
    port: 9101,
  });
  assert.deepEqual(run(["--metrics-listen", "[::1]:9101"]).server.metrics, {
    hostname: "::1",
    port: 9101,
  });
  assert.deepEqual(run(["--metrics-listen", ":9101"]).server.metrics, {
    hostname: "0.0.0.0",
    port: 9101,
  });
  assert.equal(run([]).metricsTopProcesses, 10);
  assert.equal(run(["--metrics-top-processes", "0"]).metricsTopProcesses, 0);
  for (const bad of ["9101", "host:0", "host:70000", "::1:9101", "a b:1", "[x]:1"]) {
    assert.throws(() => parseFlags(["--metrics-listen", bad]), UsageError, bad);
  }
  assert.throws(() => parseFlags(["--metrics-top-processes", "101"]), UsageError);
});

Deno.test("the worker's net permission lists the metrics address and nothing more", () => {
  const permissions = workerPermissions(
    listenAddress("127.0.0.1", 12307),
    listenAddress("::1", 9101),
  );
  assert.deepEqual(permissions.net, ["127.0.0.1:12307", "[::1]:9101"]);
  assert.equal(permissions.read, false);
  assert.equal(permissions.run, false);
});

/** One raw HTTP exchange: sends `request`, reads until the peer closes or `until` holds. */
async function rawHttp(
  port: number,
  request: string | Uint8Array,
  until?: (text: string) => boolean,
): Promise<{ text: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 10_000);
  let text = "";
  let closed = false;
  try {
    const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
    await conn.write(bytes).catch(() => 0);
    const buffer = new Uint8Array(65536);
    const decoder = new TextDecoder();
    while (until === undefined || !until(text)) {
      const count = await conn.read(buffer).catch(() => null);
      if (count === null) {
        closed = true;
        break;
      }
      text += decoder.decode(buffer.subarray(0, count), { stream: true });
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer or the peer
    }
  }
  return { text, closed };
}

/** Splits responses on one connection: each ends after its Content-Length bytes of body. */
function splitResponses(text: string, headOnly = false): { head: string; body: string }[] {
  const responses: { head: string; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) break;
    const head = rest.slice(0, end);
    const length = headOnly ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const body = new TextDecoder().decode(
      new TextEncoder().encode(rest.slice(end + 4)).subarray(0, length),
    );
    responses.push({ head, body });
    rest = rest.slice(end + 4 + body.length);
  }
  return responses;
}

Deno.test({
  name: "metrics HTTP: the daemon serves /metrics, / and errors, with its bounds",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const metricsPort = freePort();
    const daemon = await startDaemon([
      "--metrics-listen",
      `127.0.0.1:${metricsPort}`,
      "--stall-timeout",
      "2",
    ]);
    try {
      assert.match(
        daemon.stderr(),
        new RegExp(`Prometheus metrics on http://127\\.0\\.0\\.1:${metricsPort}/metrics`),
      );
      await t.step("GET /metrics in the text format, then OpenMetrics, keep-alive", async () => {
        const { text } = await rawHttp(
          metricsPort,
          "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0\r\n" +
            "Connection: close\r\n\r\n",
        );
        const [plain, open] = splitResponses(text);
        assert.match(plain!.head, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(plain!.head.includes(`Content-Type: ${CONTENT_TYPES.text}`));
        const families = parseExposition(plain!.body);
        for (const name of ["node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_load1"]) {
          assert.ok(families.has(name), name);
        }
        assert.ok(open!.head.includes(`Content-Type: ${CONTENT_TYPES.openmetrics}`));
        assert.ok(open!.head.includes("Connection: close"));
        const openFamilies = parseExposition(open!.body, "openmetrics");
        assert.equal(openFamilies.get("node_cpu_seconds")?.type, "counter");
      });
      await t.step("HEAD has the headers and no body", async () => {
        const { text, closed } = await rawHttp(
          metricsPort,
          "HEAD /metrics HTTP/1.0\r\n\r\n",
        );
        assert.ok(closed, "HTTP/1.0 without keep-alive is closed");
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(text.endsWith("\r\n\r\n"), "nothing after the head");
        assert.ok(Number(/Content-Length: (\d+)/.exec(text)![1]) > 1000);
      });
      await t.step("/ links /metrics; other paths 404; other methods 405", async () => {
        const { text } = await rawHttp(
          metricsPort,
          "GET / HTTP/1.1\r\n\r\nGET /metricsx HTTP/1.1\r\n\r\n" +
            "DELETE /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        const [index, missing, method] = splitResponses(text);
        assert.match(index!.head, /^HTTP\/1\.1 200 /);
        assert.ok(index!.body.includes('href="/metrics"'));
        assert.match(missing!.head, /^HTTP\/1\.1 404 /);
        assert.match(method!.head, /^HTTP\/1\.1 405 /);
        assert.ok(method!.head.includes("Allow: GET, HEAD"));
      });
      await t.step("a body is never read: the connection closes after the answer", async () => {
        const { text, closed } = await rawHttp(
          metricsPort,
          "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert.match(text, /^HTTP\/1\.1 405 /);
        assert.ok(closed);
      });
      await t.step("malformed head: 400 and closed; head over 8 KiB: 431 and closed", async () => {
        const bad = await rawHttp(metricsPort, "NOT HTTP\r\n\r\n");
        assert.match(bad.text, /^HTTP\/1\.1 400 /);
        assert.ok(bad.closed);
        const huge = await rawHttp(
          metricsPort,
          `GET /metrics HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD_BYTES)}\r\n\r\n`,
        );
        assert.match(huge.text, /^HTTP\/1\.1 431 /);
        assert.ok(huge.closed);
      });
      await t.step("a head that stalls midway is closed after --stall-timeout", async () => {
        const started = performance.now();
        const { text, closed } = await rawHttp(metricsPort, "GET /metr");
        assert.equal(text, "");
        assert.ok(closed);
        const seconds = (performance.now() - started) / 1000;
        assert.ok(seconds >= 1.5 && seconds < 9, `closed after ${seconds} s`);
      });
      await t.step(`at most ${MAX_METRICS_CONNECTIONS} connections; more get 503`, async () => {
        const open: Deno.TcpConn[] = [];
        try {
          for (let index = 0; index < MAX_METRICS_CONNECTIONS; index++) {
            open.push(await Deno.connect({ hostname: "127.0.0.1", port: metricsPort }));
          }
          // The server counts a connection once it accepted it: give it a moment.
          let refused = "";
          for (let attempt = 0; attempt < 50 && refused === ""; attempt++) {
            const { text } = await rawHttp(
              metricsPort,
              "GET /metrics HTTP/1.1\r\n\r\n",
              (got) => got.includes("\r\n\r\n"),
            );
            if (text.startsWith("HTTP/1.1 503")) refused = text;
            else await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.match(refused, /^HTTP\/1\.1 503 /);
        } finally {
          for (const conn of open) conn.close();
        }
        // Once they are gone, scrapes work again.
        let status = "";
        for (let attempt = 0; attempt < 50 && status !== "200"; attempt++) {
          const { text } = await rawHttp(metricsPort, "GET / HTTP/1.0\r\n\r\n");
          status = text.slice(9, 12);
          if (status !== "200") await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(status, "200");
      });
      await t.step("the JSON-RPC port still answers", async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: daemon.port });
        await conn.write(new TextEncoder().encode('{"jsonrpc":"2.0","method":"SayHello","id":1}'));
        const buffer = new Uint8Array(4096);
        const count = await conn.read(buffer);
        conn.close();
        assert.equal(
          new TextDecoder().decode(buffer.subarray(0, count ?? 0)),
          '{"jsonrpc":"2.0","result":"Hello!","id":1}\n',
        );
      });
      await t.step("lepd_method_calls_total counts the call just made", async () => {
        const { text } = await rawHttp(metricsPort, "GET /metrics HTTP/1.0\r\n\r\n");
        const body = text.slice(text.indexOf("\r\n\r\n") + 4);
        const calls = parseExposition(body).get("lepd_method_calls_total")!;
        const hello = calls.samples.find((sample) => sample.labels.method === "SayHello");
        assert.ok((hello?.value ?? 0) >= 1);
      });
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
  },
});

Deno.test({
  name: "metrics HTTP: off by default; a taken metrics port stops start-up with status 1",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const daemon = await startDaemon();
    try {
      assert.ok(!daemon.stderr().includes("Prometheus"));
    } finally {
      await daemon.stop();
    }
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await assert.rejects(
        () => startDaemon(["--metrics-listen", `127.0.0.1:${taken.addr.port}`]),
        new RegExp(
          `did not start \\(1\\):[^]*Cannot listen on 127\\.0\\.0\\.1:${taken.addr.port} \\(--metrics-listen\\)`,
        ),
      );
    } finally {
      taken.close();
    }
  },
});
