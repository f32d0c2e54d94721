/**
 * Test helpers that run the real daemon as a subprocess, with the flags of the `start` task,
 * and talk to it over TCP the way `nc` and LEPV do.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };

const REPO_ROOT = new URL("../../", import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The `deno run …` arguments of the start task, with `deno` itself dropped. */
export function startTaskArgs(): string[] {
  const [program, ...args] = denoConfig.tasks.start.split(/\s+/);
  if (program !== "deno") throw new Error(`Unexpected start task "${denoConfig.tasks.start}"`);
  return args;
}

/** A port that was free a moment ago on the loopback interface. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A daemon started for one test. */
export interface Daemon {
  port: number;
  process: Deno.ChildProcess;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** Sends a signal and waits for the exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/**
 * Starts the daemon (`checks/entry.ts`, which runs `main.ts`) with the start task's flags on a free loopback port and waits until it
 * logs that it listens.
 */
export async function startDaemon(extraArgs: string[] = []): Promise<Daemon> {
  const port = freePort();
  const process = new Deno.Command(Deno.execPath(), {
    args: [...startTaskArgs(), "--port", String(port), "--hostname", "127.0.0.1", ...extraArgs],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const { promise: ready, resolve: resolveReady } = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (const chunk of process.stderr) {
      log += decoder.decode(chunk, { stream: true });
      if (log.includes("listening on")) resolveReady();
    }
  })();
  const exited = process.status.then((status) => status.code);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), 30_000)
  );
  const outcome = await Promise.race([ready.then(() => "ready" as const), exited, timeout]);
  clearTimeout(timer);
  if (outcome !== "ready") {
    if (outcome === "timeout") process.kill("SIGKILL");
    await reading;
    throw new Error(`Daemon did not start (${outcome}): ${log}`);
  }
  return {
    port,
    process,
    stderr: () => log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch {
        // already exited
      }
      const code = await exited;
      await reading;
      return code;
    },
  };
}

/** A raw TCP client that reads whole responses. */
export class Client {
  readonly conn: Deno.TcpConn;
  #buffer = "";

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to the daemon on the loopback interface. */
  static async connect(port: number): Promise<Client> {
    return new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text or bytes as they are. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /**
   * Reads one legacy response (it ends with LF `}` LF, which cannot occur earlier because
   * strings carry no raw LF) or one JSON-RPC 2.0 response line.
   *
   * @throws {Error} when the connection ends first or nothing arrives within `timeoutMs` (a
   *   guard against a hang: a perf request on a loaded machine may take several seconds)
   */
  async readResponse(timeoutMs = 60_000): Promise<string> {
    const timer = setTimeout(() => this.conn.close(), timeoutMs);
    try {
      while (true) {
        const end = this.#responseEnd();
        if (end > 0) {
          const response = this.#buffer.slice(0, end);
          this.#buffer = this.#buffer.slice(end);
          return response;
        }
        const chunk = new Uint8Array(65536);
        let count: number | null;
        try {
          count = await this.conn.read(chunk);
        } catch {
          count = null;
        }
        if (count === null) {
          throw new Error(
            `Connection ended before a response; got ${JSON.stringify(this.#buffer)}`,
          );
        }
        this.#buffer += decoder.decode(chunk.subarray(0, count), { stream: true });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads one response and parses it as JSON. */
  async readJson(timeoutMs?: number): Promise<Record<string, unknown>> {
    return JSON.parse(await this.readResponse(timeoutMs));
  }

  /** Sends one request object and parses its response. */
  async request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.send(JSON.stringify(body));
    return await this.readJson();
  }

  /** Resolves true when the daemon closes the connection within `timeoutMs` (bytes discarded). */
  async closedByPeer(timeoutMs = 30_000): Promise<boolean> {
    const timer = setTimeout(() => this.conn.close(), timeoutMs);
    try {
      const chunk = new Uint8Array(65536);
      while (true) {
        try {
          if (await this.conn.read(chunk) === null) return true;
        } catch (error) {
          return !(error instanceof Deno.errors.BadResource ||
            error instanceof Deno.errors.Interrupted);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection (ignores a connection the peer already closed). */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  #responseEnd(): number {
    const trimmed = this.#buffer.trimStart();
    const skipped = this.#buffer.length - trimmed.length;
    if (trimmed.startsWith("{\n")) {
      const end = trimmed.indexOf("\n}\n");
      return end < 0 ? -1 : skipped + end + 3;
    }
    const end = trimmed.indexOf("\n");
    return end < 0 ? -1 : skipped + end + 1;
  }
}

/** The `result` of a legacy response with the trailing marker checked and removed. */
export function legacyText(response: Record<string, unknown>, marker = "lepdendstring"): string {
  const result = response.result;
  if (typeof result !== "string" || !result.endsWith(marker)) {
    throw new Error(`Not a legacy result with the marker: ${JSON.stringify(response)}`);
  }
  return result.slice(0, -marker.length);
}
