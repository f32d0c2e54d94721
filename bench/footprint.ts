/**
 * The daemon's footprint: requests per second and CPU per request on one persistent connection,
 * the CPU of a LEPV-style dashboard poll, and resident memory at start, after many requests,
 * after an idle spell and across a soak.
 *
 * Side by side (the default; `deno task bench`): starts lepd with the start task's flags and two
 * reference servers from bench/, and measures all three in one run, alternating, so the figures
 * are ratios taken under the same machine conditions:
 *
 * - `bare`: a bare single-isolate Deno server (`bench/bare_server.ts`);
 * - `hop`: the minimal two-isolate server (`bench/hop_server.ts`): a net-only worker forwards
 *   each method name to the main isolate, which reads the /proc file and answers through the
 *   worker; lepd's isolation design with nothing else.
 *
 * Against any lepd-compatible server (`--target HOST:PORT`, with `--pid PID` for its CPU and
 * memory when it runs on this machine), the same measurements for that server alone.
 *
 * ```sh
 * deno task bench                                   # everything, side by side (about 25 min)
 * deno task bench --duration 30 --soak-minutes 1    # shorter
 * deno task bench --only throughput,dashboard       # some parts
 * deno task bench --only dashboard --dashboard SayHello,SayHello   # another poll
 * deno task bench --target 10.0.0.5:12307           # any server (req/s only without --pid)
 * deno task bench --servers "lepd lepd@--max-semi-space-size=1 hop"   # lepd with other V8 flags
 * deno task bench --servers "lepd before hop" --baseline ../old   # another checkout's lepd
 * ```
 *
 * CPU is user plus system time of the server process (all its threads) from /proc/<pid>/stat;
 * the dashboard's is the run time of each thread from /proc/<pid>/task/<tid>/schedstat, in
 * nanoseconds, printed with its parts (main isolate, network worker, V8's helper threads, the
 * rest), or the ticks of /proc/<pid>/stat where there is no schedstat. RSS is VmRSS from
 * /proc/<pid>/status. The client runs in this process, on the same machine.
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoConfig from "../deno.json" with { type: "json" };
import { LoadClient } from "./load.ts";
import { cpuNsByRole, cpuTicks, median, THREAD_ROLES, threadCpuNs } from "./measure.ts";

const USAGE = `Usage: deno task bench [options]

Side by side (default): lepd with the start task's flags and the reference servers, one run.
  --servers "lepd hop bare"    servers to start: lepd, lepd@V8FLAGS, hop, bare, before
  --baseline DIR               the checkout the server \`before\` runs
  --target HOST:PORT           measure that lepd-compatible server instead
  --pid PID                    its process, for CPU and RSS (a local server only)
  --only PARTS                 throughput,dashboard,memory,soak (default all four)
  --requests N                 per method on one connection (default 5000; GetCmdTop a tenth)
  --rounds N                   alternating rounds, median reported (default 3)
  --dashboard m1,m2,...        methods of the poll (default LEPV's ten)
  --dashboard-period MS        poll period (default 2000)
  --dashboard-warmup SECONDS   polling before the CPU is counted (default 300)
  --duration SECONDS           polling counted (default 120)
  --memory-requests N          requests before the RSS reading (default 200000)
  --idle-seconds N             idle spell before the next RSS reading (default 30)
  --soak-minutes N             full-speed soak over 4 connections (default 10)
  --mix m1,m2,...              methods of the memory load and the soak
  --help                       this text

See the README (Development, "Footprint") and this file's module documentation.`;

const options = {
  help: { type: "boolean" },
  target: { type: "string" },
  pid: { type: "string" },
  only: { type: "string", default: "throughput,dashboard,memory,soak" },
  requests: { type: "string", default: "5000" },
  rounds: { type: "string", default: "3" },
  duration: { type: "string", default: "120" },
  "memory-requests": { type: "string", default: "200000" },
  "idle-seconds": { type: "string", default: "30" },
  "soak-minutes": { type: "string", default: "10" },
  dashboard: { type: "string" },
  "dashboard-warmup": { type: "string", default: "300" },
  "dashboard-period": { type: "string", default: "2000" },
  servers: { type: "string", default: "lepd hop bare" },
  mix: { type: "string" },
  baseline: { type: "string" },
} as const;

let parsed;
try {
  parsed = parseArgs({ args: Deno.args, options });
} catch (error) {
  console.error(`bench: ${(error as Error).message}; see --help`);
  Deno.exit(2);
}
if (parsed.values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const { values } = parsed;

/** A numeric option's value; a value that is not a number of the kind asked ends the run. */
function count(name: keyof typeof options, min = 1): number {
  const text = String(values[name]);
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min) {
    console.error(`bench: --${name} must be a whole number from ${min}, not "${text}"; see --help`);
    Deno.exit(2);
  }
  return value;
}

const REQUESTS = count("requests");
const ROUNDS = count("rounds");
const DASHBOARD_SECONDS = count("duration");
/**
 * Seconds of polling before the dashboard's CPU is counted. A method called every 2 s takes
 * minutes to be compiled by V8's optimizing tiers: lepd's poll cost 0.39–0.47 % of a core over
 * its first 2 minutes and 0.21 % half an hour later, where hop's, with far less code, stays
 * about the same. A daemon is measured as it runs: warmed up.
 */
const DASHBOARD_WARMUP_SECONDS = count("dashboard-warmup", 0);
const MEMORY_REQUESTS = count("memory-requests");
const IDLE_SECONDS = count("idle-seconds", 0);
const SOAK_MINUTES = count("soak-minutes");
const PARTS = ["throughput", "dashboard", "memory", "soak"];
const parts = new Set(values.only.split(","));
for (const part of parts) {
  if (!PARTS.includes(part)) {
    console.error(`bench: --only takes ${PARTS.join(",")}, not "${part}"; see --help`);
    Deno.exit(2);
  }
}

/** The methods of the throughput table. */
const THROUGHPUT_METHODS = ["SayHello", "GetProcMeminfo", "GetProcStat", "GetCmdTop"];
/** What LEPV's dashboard polls every 2 s, one socket per method. */
const LEPV_DASHBOARD = [
  "GetCmdMpstat",
  "GetCmdMpstat-I",
  "GetProcLoadavg",
  "GetProcMeminfo",
  "GetCmdFree",
  "GetCmdIostat",
  "GetCmdIrqInfo",
  "GetCpuInfo",
  "GetCmdDf",
  "GetProcStat",
];
/** The polled methods: LEPV's, or `--dashboard m1,m2,…` (`SayHello` ten times: the bare path). */
const DASHBOARD_METHODS = values.dashboard?.split(",") ?? LEPV_DASHBOARD;
/** LEPV's period; `--dashboard-period MS` polls faster to age a heap in minutes, not hours. */
const DASHBOARD_PERIOD_MS = count("dashboard-period");
/** The soak's mix: the dashboard's methods and the ping, with a process table now and then. */
const SOAK_MIX = values.mix?.split(",") ??
  [...LEPV_DASHBOARD, "SayHello", "GetProcVmstat", "GetProcInterrupts"];

/** A server under test. */
interface Server {
  name: string;
  hostname: string;
  port: number;
  /** Undefined when the server runs elsewhere: no CPU or memory figures. */
  pid: number | undefined;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** VmRSS (or another of its /proc/<pid>/status lines) of a process in MiB. */
function rssMiB(pid: number, field = "VmRSS"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1];
  return Number(kib) / 1024;
}

/** Starts a server program that prints its port on stdout, or lepd (which logs it on stderr). */
async function spawn(
  name: string,
  args: string[],
  portFrom: "stdout" | "stderr",
  cwd: string | URL = new URL("../", import.meta.url),
): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: portFrom === "stdout" ? "piped" : "null",
    stderr: portFrom === "stderr" ? "piped" : "inherit",
  }).spawn();
  const stream = portFrom === "stdout" ? child.stdout : child.stderr;
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port: number | undefined;
  while (port === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} exited before it listened: ${text}`);
    text += value;
    const match = portFrom === "stdout"
      ? /^(\d+)\n/.exec(text)
      : /listening on [^\s]+:(\d+)/.exec(text);
    if (match) port = Number(match[1]);
  }
  // Keep draining the stream so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  return {
    name,
    hostname: "127.0.0.1",
    port,
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
    },
  };
}

/**
 * lepd with the start task's flags, or with other V8 flags: `lepd@FLAGS` runs it with
 * `--v8-flags=FLAGS` instead (`lepd@` with none), to compare settings side by side.
 */
async function startLepd(spec: string, checkout?: string): Promise<Server> {
  const config = checkout === undefined
    ? denoConfig
    : JSON.parse(await Deno.readTextFile(`${checkout}/deno.json`));
  let args = (config.tasks.start as string).split(/\s+/).slice(1);
  const at = spec.indexOf("@");
  if (at >= 0) {
    const flags = spec.slice(at + 1);
    args = args.filter((arg) => !arg.startsWith("--v8-flags="));
    if (flags !== "") args.splice(args.length - 1, 0, `--v8-flags=${flags}`);
  }
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return spawn(
    spec,
    [...args, "--port", String(port), "--hostname", "127.0.0.1"],
    "stderr",
    checkout,
  );
}

function startReference(name: "hop" | "bare"): Promise<Server> {
  const script = name === "hop" ? "bench/hop_server.ts" : "bench/bare_server.ts";
  return spawn(name, ["run", "-A", "--unstable-worker-options", script], "stdout");
}

/** Sends `count` requests for `method` one after another on `client`. */
async function sequential(client: LoadClient, method: string, count: number): Promise<void> {
  const request = LoadClient.request(method);
  for (let i = 0; i < count; i++) await client.call(request);
}

interface Throughput {
  perSecond: number;
  /** CPU milliseconds of the server per request; NaN without a pid. */
  cpuMs: number;
}

/** Requests per second and server CPU per request for one method on one connection. */
async function throughput(server: Server, client: LoadClient, method: string): Promise<Throughput> {
  const count = method === "GetCmdTop" ? Math.max(100, Math.round(REQUESTS / 10)) : REQUESTS;
  await sequential(client, method, Math.min(200, count)); // warm up
  const ticks = server.pid === undefined ? NaN : cpuTicks(server.pid);
  const started = performance.now();
  await sequential(client, method, count);
  const seconds = (performance.now() - started) / 1000;
  const used = server.pid === undefined ? NaN : (cpuTicks(server.pid) - ticks) * 10;
  return { perSecond: count / seconds, cpuMs: used / count };
}

function fixed(value: number, digits: number): string {
  return Number.isNaN(value) ? "—" : value.toFixed(digits);
}

/** Throughput of every method on every server, alternating servers within each round. */
async function throughputTable(servers: Server[]): Promise<void> {
  const clients = await Promise.all(servers.map((s) => LoadClient.connect(s.hostname, s.port)));
  const results = new Map<string, Throughput[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const method of THROUGHPUT_METHODS) {
      for (const [index, server] of servers.entries()) {
        const key = `${method}\t${server.name}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key)!.push(await throughput(server, clients[index]!, method));
      }
    }
  }
  clients.forEach((client) => client.close());
  console.log(
    `\nOne persistent connection, ${REQUESTS} sequential requests per method (GetCmdTop ` +
      `${Math.max(100, Math.round(REQUESTS / 10))}), median of ${ROUNDS} alternating rounds:\n`,
  );
  const width = Math.max(6, ...servers.map((s) => s.name.length));
  console.log(
    `${"method".padEnd(16)}${"server".padEnd(width)}    req/s  CPU ms/req  vs hop: req/s  CPU`,
  );
  for (const method of THROUGHPUT_METHODS) {
    const summary = (name: string) => {
      const list = results.get(`${method}\t${name}`);
      return list === undefined ? undefined : {
        perSecond: median(list.map((r) => r.perSecond)),
        cpuMs: median(list.map((r) => r.cpuMs)),
      };
    };
    const hop = summary("hop");
    for (const server of servers) {
      const own = summary(server.name)!;
      const ratios = hop === undefined || server.name === "hop"
        ? ""
        : `${(own.perSecond / hop.perSecond).toFixed(2).padStart(13)}× ${
          (own.cpuMs / hop.cpuMs).toFixed(2).padStart(5)
        }×`;
      console.log(
        `${method.padEnd(16)}${server.name.padEnd(width)}${fixed(own.perSecond, 0).padStart(9)}` +
          `${fixed(own.cpuMs, 3).padStart(12)}${ratios}`,
      );
    }
  }
}

/**
 * Polls the dashboard's methods on every server at once, each server at its own phase of the
 * period, one socket per method; returns each server's CPU share of one core in percent.
 */
async function dashboard(servers: Server[]): Promise<void> {
  const sockets = await Promise.all(
    servers.map((s) =>
      Promise.all(DASHBOARD_METHODS.map(() => LoadClient.connect(s.hostname, s.port)))
    ),
  );
  const requests = DASHBOARD_METHODS.map((method) => LoadClient.request(method));
  const pollOnce = (index: number) =>
    Promise.all(sockets[index]!.map((socket, m) => socket.call(requests[m]!)));
  /** Polls of each server in `seconds` (at least one). */
  const roundsIn = (seconds: number) =>
    Math.max(1, Math.round(seconds * 1000 / DASHBOARD_PERIOD_MS));
  for (let round = 0; round < roundsIn(DASHBOARD_WARMUP_SECONDS); round++) {
    const due = performance.now() + DASHBOARD_PERIOD_MS;
    for (let index = 0; index < servers.length; index++) await pollOnce(index);
    await sleep(Math.max(0, due - performance.now()));
  }
  const ticks = servers.map((s) => s.pid === undefined ? NaN : cpuTicks(s.pid));
  const threads = servers.map((s) => s.pid === undefined ? undefined : threadCpuNs(s.pid));
  const started = performance.now();
  const rounds = roundsIn(DASHBOARD_SECONDS);
  const loops = servers.map(async (_, index) => {
    const phase = index * DASHBOARD_PERIOD_MS / servers.length;
    for (let round = 0; round < rounds; round++) {
      const due = started + phase + round * DASHBOARD_PERIOD_MS;
      await sleep(Math.max(0, due - performance.now()));
      await pollOnce(index);
    }
  });
  await Promise.all(loops);
  await sleep(Math.max(0, started + rounds * DASHBOARD_PERIOD_MS - performance.now()));
  const elapsed = (performance.now() - started) / 1000;
  sockets.flat().forEach((socket) => socket.close());
  console.log(
    `\nDashboard: ${DASHBOARD_METHODS.length} methods every ${DASHBOARD_PERIOD_MS / 1000} s, one ` +
      `socket per method, ${
        elapsed.toFixed(0)
      } s after ${DASHBOARD_WARMUP_SECONDS} s of the same ` +
      `poll, servers polled at staggered phases:`,
  );
  servers.forEach((server, index) => {
    const pid = server.pid;
    const before = threads[index];
    const after = pid === undefined || before === undefined ? undefined : threadCpuNs(pid);
    if (after === undefined) {
      const percent = pid === undefined ? NaN : (cpuTicks(pid) - ticks[index]!) / elapsed;
      console.log(`  ${server.name.padEnd(8)} ${fixed(percent, 2).padStart(6)} % of one core`);
      return;
    }
    // Nanoseconds per thread: the whole to the nanosecond, and where it went.
    const byRole = cpuNsByRole(before!, after);
    const percentOf = (ns: number) => ns / 1e9 / elapsed * 100;
    const total = [...byRole.values()].reduce((sum, ns) => sum + ns, 0);
    const parts = THREAD_ROLES.map((role) => `${role} ${fixed(percentOf(byRole.get(role)!), 3)}`);
    console.log(
      `  ${server.name.padEnd(8)} ${fixed(percentOf(total), 2).padStart(6)} % of one core ` +
        `(${parts.join(", ")})`,
    );
  });
}

/** Sends `total` requests cycling through `mix` over `connections` connections at full speed. */
async function load(server: Server, mix: string[], total: number, connections = 4): Promise<void> {
  const requests = mix.map((method) => LoadClient.request(method));
  let sent = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    const client = await LoadClient.connect(server.hostname, server.port);
    try {
      while (sent < total) {
        const request = requests[sent++ % requests.length]!;
        await client.call(request);
      }
    } finally {
      client.close();
    }
  }));
}

/** RSS at start, after MEMORY_REQUESTS mixed requests and after IDLE_SECONDS idle. */
async function memory(servers: Server[], startRss: Map<string, number>): Promise<void> {
  const rows: string[] = [];
  const width = Math.max(6, ...servers.map((s) => s.name.length));
  const results = new Map<string, number[]>();
  for (const server of servers) {
    if (server.pid === undefined) continue;
    await load(server, SOAK_MIX, MEMORY_REQUESTS);
    results.set(server.name, [startRss.get(server.name)!, rssMiB(server.pid)]);
  }
  await sleep(IDLE_SECONDS * 1000);
  for (const server of servers) {
    if (server.pid === undefined) continue;
    const [start, loaded] = results.get(server.name)!;
    const idle = rssMiB(server.pid);
    const anon = rssMiB(server.pid, "RssAnon");
    rows.push(
      `  ${server.name.padEnd(width)} ${start!.toFixed(1).padStart(7)} ` +
        `${loaded!.toFixed(1).padStart(9)}${idle.toFixed(1).padStart(11)}${
          anon.toFixed(1).padStart(13)
        }`,
    );
  }
  console.log(
    `\nRSS in MiB: at start, after ${MEMORY_REQUESTS} requests (dashboard methods and the ping ` +
      `over 4 connections), after ${IDLE_SECONDS} s idle:`,
  );
  console.log(`  ${"server".padEnd(width)}   start    loaded  then idle  (of it anon)`);
  rows.forEach((row) => console.log(row));
}

/** RSS every 10 s while 4 connections send the mix at full speed, with GetCmdTop now and then. */
async function soak(server: Server): Promise<void> {
  const pid = server.pid;
  if (pid === undefined) return;
  const until = performance.now() + SOAK_MINUTES * 60_000;
  const samples: { minute: number; rss: number }[] = [];
  const started = performance.now();
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      samples.push({ minute: (performance.now() - started) / 60_000, rss: rssMiB(pid) });
      await sleep(10_000);
    }
  })();
  const requests = SOAK_MIX.map((method) => LoadClient.request(method));
  const top = LoadClient.request("GetCmdTop");
  let count = 0;
  await Promise.all(Array.from({ length: 4 }, async (_, index) => {
    const client = await LoadClient.connect(server.hostname, server.port);
    try {
      for (let i = 0; performance.now() < until; i++) {
        await client.call(index === 0 && i % 500 === 0 ? top : requests[i % requests.length]!);
        count++;
      }
    } finally {
      client.close();
    }
  }));
  stop = true;
  await sampler;
  samples.push({ minute: (performance.now() - started) / 60_000, rss: rssMiB(pid) });
  const afterFirst = samples.filter((s) => s.minute >= 1).map((s) => s.rss);
  const all = samples.map((s) => s.rss);
  console.log(
    `\nSoak of ${server.name}: ${SOAK_MINUTES} min, 4 connections at full speed, ${count} ` +
      `requests; RSS in MiB: start ${all[0]!.toFixed(1)}, max ${Math.max(...all).toFixed(1)}, ` +
      `end ${all.at(-1)!.toFixed(1)}` +
      (afterFirst.length > 0
        ? `; after the first minute ${Math.min(...afterFirst).toFixed(1)}–` +
          `${Math.max(...afterFirst).toFixed(1)} (drift ${
            (Math.max(...afterFirst) - Math.min(...afterFirst)).toFixed(1)
          })`
        : ""),
  );
  console.log(
    "  minute:RSS " +
      samples.filter((_, i) => i % 6 === 0 || i === samples.length - 1)
        .map((s) => `${s.minute.toFixed(1)}:${s.rss.toFixed(0)}`).join(" "),
  );
}

const servers: Server[] = [];
try {
  if (values.target !== undefined) {
    const separator = values.target.lastIndexOf(":");
    servers.push({
      name: "target",
      hostname: values.target.slice(0, separator).replace(/^\[|\]$/g, ""),
      port: Number(values.target.slice(separator + 1)),
      pid: values.pid === undefined ? undefined : Number(values.pid),
      stop: () => Promise.resolve(),
    });
  } else {
    for (const name of values.servers.split(/[\s;]+/).filter((name) => name !== "")) {
      if (name === "before" && values.baseline === undefined) {
        throw new Error('The server "before" needs --baseline DIR (a checkout of lepd)');
      }
      servers.push(
        name === "before"
          ? await startLepd(name, values.baseline)
          : name.startsWith("lepd")
          ? await startLepd(name)
          : await startReference(name as "hop" | "bare"),
      );
    }
  }
  // Start-up settles: lepd hands its start-up pages back 2 s after it listens (main.ts).
  await sleep(3000);
  const startRss = new Map(
    servers.filter((s) => s.pid !== undefined).map((s) => [s.name, rssMiB(s.pid!)]),
  );
  console.log(
    `Servers: ${
      servers.map((s) => `${s.name} (${s.hostname}:${s.port}${s.pid ? `, pid ${s.pid}` : ""})`)
        .join(", ")
    }; ${navigator.hardwareConcurrency} CPUs`,
  );
  if (parts.has("throughput")) await throughputTable(servers);
  if (parts.has("dashboard")) await dashboard(servers);
  if (parts.has("memory")) await memory(servers, startRss);
  if (parts.has("soak")) await soak(servers[0]!);
} finally {
  for (const server of servers) await server.stop();
}
