/**
 * The TCP listener: accepts connections, applies the address filter and the connection
 * limits, and stops gracefully.
 *
 * When every connection slot is taken, a newcomer is not refused while some connection is
 * idle: the longest-idle connection of the address holding the most connections is closed to
 * make room. Calls to the collectors are shared: a call for a method that is already running
 * for any connection waits for that run's result instead of starting another, and one client
 * address may have only one perf method in flight at a time.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { AccessList } from "./access.ts";
import { Connection, ResponseBudget } from "./connection.ts";
import { encodeReply } from "./encoder.ts";
import type { MethodFormat, MethodOutcome, ServerConfig } from "./messages.ts";
import { ErrorCode } from "./protocol.ts";

/** `--max-response-bytes-per-connection` when the config does not say. */
export const DEFAULT_MAX_RESPONSE_BYTES_PER_CONNECTION = 4 * 1024 * 1024;
/** `--max-response-bytes-total` when the config does not say. */
export const DEFAULT_MAX_RESPONSE_BYTES_TOTAL = 64 * 1024 * 1024;

/**
 * Methods whose collector walks every process (or control group, or mount) synchronously in
 * the collectors' isolate, holding it for tens to hundreds of milliseconds. They run one at a
 * time, and after one that took T the next waits T × (100 / share − 1), so clients that loop
 * them hold that isolate at most `--heavy-share` percent of the time (default
 * {@link DEFAULT_HEAVY_SHARE}) and cheap requests are answered meanwhile.
 */
export const HEAVY_METHODS: ReadonlySet<string> = new Set([
  "GetCmdSmem",
  "GetCmdProcrank",
  "GetCmdTop",
  "GetCmdTopH",
  "GetCmdIotop",
  "GetCmdCgtop",
  "GetCmdDf",
]);

/** `--heavy-share` when the config does not say: heavy methods take at most a quarter. */
export const DEFAULT_HEAVY_SHARE = 25;

/** Methods that run perf: one client address may have one of them in flight. */
export function isPerfMethod(method: string): boolean {
  return method.startsWith("GetCmdPerf");
}

/** What the server needs from its host isolate. */
export interface ServerHost {
  /** Names of the registered methods; anything else is answered -32601 without asking. */
  methods: readonly string[];
  call(method: string, format?: MethodFormat): Promise<MethodOutcome>;
  log: Logger;
}

/** Listens on one address and serves every accepted connection concurrently. */
export class RpcServer {
  readonly #config: ServerConfig;
  readonly #host: ServerHost;
  readonly #methods: ReadonlySet<string>;
  readonly #access: AccessList;
  readonly #connections = new Map<Connection, Promise<void>>();
  readonly #perClient = new Map<string, number>();
  readonly #clientOf = new Map<Connection, string>();
  readonly #budget: ResponseBudget;
  /** Calls running in the collectors' isolate, by method: later identical calls share them. */
  readonly #inFlight = new Map<string, Promise<MethodOutcome>>();
  /** Heavy calls run one after the other, spaced out (see {@link HEAVY_METHODS}). */
  #heavyLane: Promise<unknown> = Promise.resolve();
  #heavyFreeAt = 0;
  /** Heavy calls started or waiting in the lane and not finished. */
  #heavyRunning = 0;
  /** Per client address, the perf method it has in flight and how many of its calls wait. */
  readonly #perfByClient = new Map<string, { method: string; calls: number }>();
  #listener: Deno.TcpListener | undefined;
  #accepting: Promise<void> | undefined;

  /**
   * @param config listen address and bounds
   * @param host method table and runner
   * @throws {TypeError} when `config.allowFrom` holds an invalid network
   */
  constructor(config: ServerConfig, host: ServerHost) {
    this.#config = config;
    this.#host = host;
    this.#methods = new Set(host.methods);
    this.#access = AccessList.parse(config.allowFrom);
    this.#budget = new ResponseBudget(
      config.maxResponseBytesTotal ?? DEFAULT_MAX_RESPONSE_BYTES_TOTAL,
    );
  }

  /** Bytes of replies held by all connections now (tests and benchmarks). */
  get responseBytesHeld(): number {
    return this.#budget.held;
  }

  /** Binds the listen address and starts accepting; returns the bound address. */
  start(): Deno.NetAddr {
    this.#listener = Deno.listen({ hostname: this.#config.hostname, port: this.#config.port });
    this.#accepting = this.#acceptLoop(this.#listener);
    return this.#listener.addr;
  }

  /**
   * Stops accepting, lets responses in flight finish for up to the grace period, then cuts
   * whatever is left.
   */
  async shutdown(): Promise<void> {
    this.#listener?.close();
    await this.#accepting;
    for (const connection of this.#connections.keys()) connection.shutdown();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#config.shutdownGraceMs);
    });
    await Promise.race([Promise.allSettled(this.#connections.values()), grace]);
    clearTimeout(timer);
    for (const connection of this.#connections.keys()) connection.abort();
    await Promise.allSettled(this.#connections.values());
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    const log = this.#host.log;
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return; // listener closed at shutdown
        // A client that connects and resets at once makes accept fail: count, do not flood.
        log.limited("warn", "accept", `Accept failed: ${(error as Error).message}`);
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.TcpConn): void {
    const { log } = this.#host;
    const client = conn.remoteAddr.hostname;
    if (!this.#access.allows(client)) {
      log.debug(`Refused ${client}: not in --allow-from`);
      conn.close();
      return;
    }
    const fromClient = this.#perClient.get(client) ?? 0;
    if (fromClient >= this.#config.maxConnectionsPerClient) {
      this.#refuse(
        conn,
        `Too many connections from ${client}: the limit is ${this.#config.maxConnectionsPerClient}`,
        "per-client",
      );
      return;
    }
    if (this.#connections.size >= this.#config.maxConnections && !this.#reapOne()) {
      this.#refuse(
        conn,
        `Too many connections: the limit is ${this.#config.maxConnections}`,
        "total",
      );
      return;
    }
    conn.setNoDelay(true);
    this.#perClient.set(client, fromClient + 1);
    const connection = new Connection(conn, {
      maxRequestBytes: this.#config.maxRequestBytes,
      maxBatch: this.#config.maxBatch,
      idleTimeoutMs: this.#config.idleTimeoutMs,
      stallTimeoutMs: this.#config.stallTimeoutMs,
      maxResponseBytes: this.#config.maxResponseBytesPerConnection ??
        DEFAULT_MAX_RESPONSE_BYTES_PER_CONNECTION,
      budget: this.#budget,
      hasMethod: (name) => this.#methods.has(name),
      call: (method, format) => this.#call(client, method, format),
      log,
    });
    this.#clientOf.set(connection, client);
    log.debug(`${connection.peer}: connected (${this.#connections.size + 1} open)`);
    const served = connection.serve().finally(() => {
      this.#connections.delete(connection);
      this.#clientOf.delete(connection);
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
      log.debug(`${connection.peer}: closed`);
    });
    this.#connections.set(connection, served);
  }

  /**
   * Makes room for one connection: closes the longest-idle connection of the address that
   * holds the most connections (ties: the one idle longest). False when no connection is idle.
   */
  #reapOne(): boolean {
    let victim: { connection: Connection; held: number; since: number } | undefined;
    for (const connection of this.#connections.keys()) {
      const since = connection.idleSince;
      if (since === undefined) continue;
      const held = this.#perClient.get(this.#clientOf.get(connection) ?? "") ?? 0;
      if (
        victim === undefined || held > victim.held ||
        (held === victim.held && since < victim.since)
      ) {
        victim = { connection, held, since };
      }
    }
    if (victim === undefined) return false;
    const client = this.#clientOf.get(victim.connection) ?? "?";
    this.#host.log.limited(
      "info",
      "reap",
      `All ${this.#config.maxConnections} connections taken: closed an idle one of ${client} ` +
        `(${victim.held} open) for a new client`,
    );
    victim.connection.reap();
    // The slot is freed now; the connection's own bookkeeping runs when its serve() ends.
    this.#connections.delete(victim.connection);
    return true;
  }

  /**
   * Runs a method for a client: joins the identical call in flight if there is one, and
   * allows one perf method in flight per client address.
   */
  #call(client: string, method: string, format?: MethodFormat): Promise<MethodOutcome> {
    if (!isPerfMethod(method)) return this.#shared(method, format);
    const held = this.#perfByClient.get(client);
    if (held !== undefined && held.method !== method) {
      return Promise.resolve({
        ok: false,
        message: `Busy: ${client} already has a perf recording (${held.method}) in flight; ` +
          "one perf request at a time per client, retry when it has answered",
      });
    }
    const entry = held ?? { method, calls: 0 };
    entry.calls++;
    this.#perfByClient.set(client, entry);
    return this.#shared(method, format).finally(() => {
      if (--entry.calls === 0) this.#perfByClient.delete(client);
    });
  }

  /** The call in flight for `method` in that format, or a new one. */
  #shared(method: string, format?: MethodFormat): Promise<MethodOutcome> {
    const json = format === "json";
    // A JSON call shares only with JSON calls: the two results differ.
    const key = json ? `${method}\0json` : method;
    let call = this.#inFlight.get(key);
    if (call === undefined) {
      call = HEAVY_METHODS.has(method)
        ? this.#heavy(method, format)
        : json
        ? this.#host.call(method, "json")
        : this.#host.call(method);
      this.#inFlight.set(key, call);
      const started = call;
      const settled = () => {
        if (this.#inFlight.get(key) === started) this.#inFlight.delete(key);
      };
      call.then(settled, settled);
    }
    return call;
  }

  /**
   * Runs a heavy method in its turn: after the previous one, and after that one's gap. With
   * the lane free it starts at once, in this turn, so its call goes to the collectors with the
   * other calls of the turn (one message, see messages.ts's `Batch`).
   */
  #heavy(method: string, format?: MethodFormat): Promise<MethodOutcome> {
    const start = (): Promise<MethodOutcome> => {
      const started = performance.now();
      const call = format === "json" ? this.#host.call(method, "json") : this.#host.call(method);
      const done = () => {
        const now = performance.now();
        const share = this.#config.heavyShare ?? DEFAULT_HEAVY_SHARE;
        this.#heavyFreeAt = now + (now - started) * (100 / share - 1);
        this.#heavyRunning--;
      };
      call.then(done, done);
      return call;
    };
    this.#heavyRunning++;
    const run = this.#heavyRunning === 1 && this.#heavyFreeAt <= performance.now()
      ? start()
      : this.#heavyLane.then(async () => {
        const wait = this.#heavyFreeAt - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        return await start();
      });
    this.#heavyLane = run.catch(() => {});
    return run;
  }

  /** Tells a client over a limit why, in a response it can read (marker included), and closes. */
  #refuse(conn: Deno.TcpConn, message: string, kind: string): void {
    this.#host.log.limited(
      "warn",
      `refuse:${kind}`,
      `Refused ${conn.remoteAddr.hostname}: ${message}`,
    );
    const bytes = encodeReply({
      dialect: "legacy",
      outcome: { error: { code: ErrorCode.METHOD_FAILED, message } },
    });
    // A fresh socket's send buffer is empty, so this small write completes at once.
    conn.write(bytes).catch(() => {}).finally(() => conn.close());
  }
}
