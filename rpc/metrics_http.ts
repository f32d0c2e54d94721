/**
 * The Prometheus endpoint (`--metrics-listen`), served by the network worker: a small HTTP/1.1
 * server that answers `GET /metrics` (and HEAD) in the text format 0.0.4 or OpenMetrics 1.0, `/`
 * with a short page linking it, 404 for any other path and 405 for any other method.
 *
 * It is written on plain TCP rather than `Deno.serve` so that every resource a client can hold
 * is bounded here: the request head (8 KiB), the connections (32), the time a head or a
 * response may take (`--stall-timeout`) and the time a kept-alive connection may sit idle
 * (`--idle-timeout`). Request bodies are never read: a request that announces one is answered
 * and the connection closed. The families come from the main isolate through a parameterless
 * `scrape` call; the format the scraper asked for is chosen and rendered here.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { CONTENT_TYPES, negotiateFormat, render } from "../metrics/exposition.ts";
import { AccessList } from "./access.ts";
import type { ScrapeOutcome } from "./messages.ts";

/** Largest request head (request line and headers); a larger one gets 431 and is closed. */
export const MAX_HEAD_BYTES = 8192;
/** Most open connections on the metrics port; more get 503 and are closed. */
export const MAX_METRICS_CONNECTIONS = 32;

/** Bounds and address of the endpoint. */
export interface MetricsHttpConfig {
  hostname: string;
  port: number;
  /** A kept-alive connection with no request for this long is closed. */
  idleTimeoutMs: number;
  /** A request head that stops arriving midway, or a response the client stops reading. */
  stallTimeoutMs: number;
  /** On shutdown, how long responses in flight may take. */
  shutdownGraceMs: number;
  /** Client networks allowed (CIDR); empty means everyone. */
  allowFrom: string[];
}

/** What the endpoint needs from its isolate. */
export interface MetricsHost {
  /** One scrape's families (the main isolate's work); never throws. */
  scrape(): Promise<ScrapeOutcome>;
  log: Logger;
}

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The path without its query. */
  path: string;
  /** HTTP/1.0 (false) or 1.1 (true). */
  http11: boolean;
  /** Header values by lower-case name (a repeated header's values joined with `, `). */
  headers: Map<string, string>;
}

const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();
const HEAD_END = [13, 10, 13, 10];

/** Index just past the first CRLF CRLF in `bytes[0, length)`, or -1. */
export function findHeadEnd(bytes: Uint8Array, length: number): number {
  for (let index = 0; index + 3 < length; index++) {
    if (
      bytes[index] === HEAD_END[0] && bytes[index + 1] === HEAD_END[1] &&
      bytes[index + 2] === HEAD_END[2] && bytes[index + 3] === HEAD_END[3]
    ) {
      return index + 4;
    }
  }
  return -1;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Parses a request head (without the final empty line); undefined when it is malformed. */
export function parseRequestHead(text: string): RequestHead | undefined {
  const [requestLine = "", ...lines] = text.split("\r\n");
  const match = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/.exec(requestLine);
  if (match === null) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    // No obsolete line folding, no name without a value, no control characters.
    // deno-lint-ignore no-control-regex
    if (colon <= 0 || !TOKEN.test(name) || /[\x00-\x08\x0a-\x1f\x7f]/.test(line)) {
      return undefined;
    }
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const earlier = headers.get(key);
    headers.set(key, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  const target = match[2]!;
  const query = target.indexOf("?");
  return {
    method: match[1]!,
    path: query < 0 ? target : target.slice(0, query),
    http11: match[3] === "1",
    headers,
  };
}

/** The short page at `/`. */
export const INDEX_PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>lepd</title></head>
<body><h1>lepd</h1><p>Prometheus metrics of this machine: <a href="/metrics">/metrics</a></p></body>
</html>
`;

/** A response before it is written. */
interface Response {
  status: number;
  reason: string;
  contentType?: string;
  body: string;
  extraHeaders?: [string, string][];
  /** Close the connection after this response. */
  close?: boolean;
}

function plain(status: number, reason: string, body: string, close = false): Response {
  return { status, reason, contentType: "text/plain; charset=utf-8", body, close };
}

/** Serves the metrics endpoint on one address. */
export class MetricsHttpServer {
  readonly #config: MetricsHttpConfig;
  readonly #host: MetricsHost;
  readonly #access: AccessList;
  readonly #connections = new Map<Deno.Conn, Promise<void>>();
  /** Connections waiting for a request (idle), closed at once on shutdown. */
  readonly #idle = new Set<Deno.Conn>();
  #listener: Deno.TcpListener | undefined;
  #accepting: Promise<void> | undefined;
  #stopping = false;
  #scraping: Promise<ScrapeOutcome> | undefined;

  /** @throws {TypeError} when `config.allowFrom` holds an invalid network */
  constructor(config: MetricsHttpConfig, host: MetricsHost) {
    this.#config = config;
    this.#host = host;
    this.#access = AccessList.parse(config.allowFrom);
  }

  /** Binds the address and starts accepting; returns the bound address. */
  start(): Deno.NetAddr {
    this.#listener = Deno.listen({ hostname: this.#config.hostname, port: this.#config.port });
    this.#accepting = this.#acceptLoop(this.#listener);
    return this.#listener.addr;
  }

  /** Stops accepting, closes idle connections, gives responses in flight the grace period. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    this.#listener?.close();
    await this.#accepting;
    for (const conn of this.#idle) closeQuietly(conn);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#config.shutdownGraceMs);
    });
    await Promise.race([Promise.allSettled(this.#connections.values()), grace]);
    clearTimeout(timer);
    for (const conn of this.#connections.keys()) closeQuietly(conn);
    await Promise.allSettled(this.#connections.values());
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        this.#host.log.warn(`Metrics accept failed: ${(error as Error).message}`);
        continue;
      }
      const client = conn.remoteAddr.hostname;
      if (!this.#access.allows(client)) {
        this.#host.log.debug(`Metrics: refused ${client}: not in --allow-from`);
        closeQuietly(conn);
        continue;
      }
      if (this.#connections.size >= MAX_METRICS_CONNECTIONS) {
        this.#host.log.warn(
          `Metrics: refused ${client}: ${MAX_METRICS_CONNECTIONS} connections are open`,
        );
        const response = plain(503, "Service Unavailable", "Too many connections\n", true);
        this.#write(conn, response, false).finally(() => closeQuietly(conn));
        continue;
      }
      const served = this.#serve(conn).finally(() => {
        this.#connections.delete(conn);
        this.#idle.delete(conn);
        closeQuietly(conn);
      });
      this.#connections.set(conn, served);
    }
  }

  /** Answers requests on one connection until it closes, errs or must close. */
  async #serve(conn: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(MAX_HEAD_BYTES);
    let filled = 0;
    while (!this.#stopping) {
      // Wait for a whole head: idle until its first byte, then the stall timeout.
      let end = findHeadEnd(buffer, filled);
      while (end < 0) {
        if (filled === buffer.length) {
          await this.#write(
            conn,
            plain(431, "Request Header Fields Too Large", "Request head too large\n", true),
            false,
          );
          return;
        }
        const waitingIdle = filled === 0;
        if (waitingIdle) this.#idle.add(conn);
        const count = await this.#readWithin(
          conn,
          buffer.subarray(filled),
          waitingIdle ? this.#config.idleTimeoutMs : this.#config.stallTimeoutMs,
        );
        this.#idle.delete(conn);
        if (count === null) return;
        filled += count;
        end = findHeadEnd(buffer, filled);
      }
      const head = parseRequestHead(latin1.decode(buffer.subarray(0, end - 4)));
      // Pipelined bytes after the head stay for the next request.
      buffer.copyWithin(0, end, filled);
      filled -= end;
      if (head === undefined) {
        await this.#write(conn, plain(400, "Bad Request", "Bad request\n", true), false);
        return;
      }
      const hasBody = head.headers.has("transfer-encoding") ||
        Number(head.headers.get("content-length") ?? "0") !== 0;
      const connection = head.headers.get("connection")?.toLowerCase() ?? "";
      const keepAlive = head.http11
        ? !/(^|,)\s*close\s*(,|$)/.test(connection)
        : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
      const response = await this.#respond(head);
      const close = response.close === true || hasBody || !keepAlive || this.#stopping;
      const written = await this.#write(
        conn,
        { ...response, close },
        head.method === "HEAD",
        keepAlive && !head.http11 && !close,
      );
      if (!written || close) return;
    }
  }

  async #respond(head: RequestHead): Promise<Response> {
    if (head.path !== "/metrics" && head.path !== "/") {
      return plain(404, "Not Found", "Not found: lepd serves /metrics\n");
    }
    if (head.method !== "GET" && head.method !== "HEAD") {
      return {
        ...plain(405, "Method Not Allowed", "Only GET and HEAD are allowed\n"),
        extraHeaders: [["Allow", "GET, HEAD"]],
      };
    }
    if (head.path === "/") {
      return {
        status: 200,
        reason: "OK",
        contentType: "text/html; charset=utf-8",
        body: INDEX_PAGE,
      };
    }
    this.#scraping ??= this.#host.scrape().finally(() => this.#scraping = undefined);
    const outcome = await this.#scraping;
    if (!outcome.ok) {
      return plain(500, "Internal Server Error", `Scrape failed: ${outcome.message}\n`);
    }
    const format = negotiateFormat(head.headers.get("accept"));
    return {
      status: 200,
      reason: "OK",
      contentType: CONTENT_TYPES[format],
      body: render(outcome.families, format),
    };
  }

  /** Reads into `into`, or resolves null when nothing comes within `ms` or the peer closed. */
  async #readWithin(conn: Deno.Conn, into: Uint8Array, ms: number): Promise<number | null> {
    const timer = setTimeout(() => closeQuietly(conn), ms);
    try {
      return await conn.read(into);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes a response within the stall timeout; resolves false when it could not. */
  async #write(
    conn: Deno.Conn,
    response: Response,
    headOnly: boolean,
    announceKeepAlive = false,
  ): Promise<boolean> {
    const body = encoder.encode(response.body);
    const headers: [string, string][] = [
      ["Date", new Date().toUTCString()],
      ["Content-Length", String(body.length)],
      ...(response.contentType === undefined ? [] : [["Content-Type", response.contentType]] as [
        string,
        string,
      ][]),
      ...(response.extraHeaders ?? []),
      ...(response.close
        ? [["Connection", "close"]] as [string, string][]
        : announceKeepAlive
        ? [["Connection", "keep-alive"]] as [string, string][]
        : []),
    ];
    const head = encoder.encode(
      `HTTP/1.1 ${response.status} ${response.reason}\r\n` +
        headers.map(([name, value]) => `${name}: ${value}\r\n`).join("") + "\r\n",
    );
    const bytes = headOnly ? head : concat(head, body);
    const timer = setTimeout(() => closeQuietly(conn), this.#config.stallTimeoutMs);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const whole = new Uint8Array(first.length + second.length);
  whole.set(first);
  whole.set(second, first.length);
  return whole;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
