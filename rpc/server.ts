/**
 * The TCP listener: accepts connections, applies the address filter and the connection
 * limits, and stops gracefully.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { AccessList } from "./access.ts";
import { Connection } from "./connection.ts";
import { encodeReply } from "./encoder.ts";
import type { MethodOutcome, ServerConfig } from "./messages.ts";
import { ErrorCode } from "./protocol.ts";

/** What the server needs from its host isolate. */
export interface ServerHost {
  /** Names of the registered methods; anything else is answered -32601 without asking. */
  methods: readonly string[];
  call(method: string): Promise<MethodOutcome>;
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
        log.warn(`Accept failed: ${(error as Error).message}`);
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
    if (this.#connections.size >= this.#config.maxConnections) {
      this.#refuse(conn, `Too many connections: the limit is ${this.#config.maxConnections}`);
      return;
    }
    if (fromClient >= this.#config.maxConnectionsPerClient) {
      this.#refuse(
        conn,
        `Too many connections from ${client}: the limit is ${this.#config.maxConnectionsPerClient}`,
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
      hasMethod: (name) => this.#methods.has(name),
      call: (method) => this.#host.call(method),
      log,
    });
    log.debug(`${connection.peer}: connected (${this.#connections.size + 1} open)`);
    const served = connection.serve().finally(() => {
      this.#connections.delete(connection);
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
      log.debug(`${connection.peer}: closed`);
    });
    this.#connections.set(connection, served);
  }

  /** Tells a client over a limit why, in a response it can read (marker included), and closes. */
  #refuse(conn: Deno.TcpConn, message: string): void {
    this.#host.log.warn(`Refused ${conn.remoteAddr.hostname}: ${message}`);
    const bytes = encodeReply({
      dialect: "legacy",
      outcome: { error: { code: ErrorCode.METHOD_FAILED, message } },
    });
    // A fresh socket's send buffer is empty, so this small write completes at once.
    conn.write(bytes).catch(() => {}).finally(() => conn.close());
  }
}
