/**
 * The network worker's configuration the tests start it with: loopback, an ephemeral port, small
 * bounds and quiet logs. Each test changes what it is about through `overrides`.
 *
 * @module
 */

import type { ServerConfig } from "../../rpc/messages.ts";

/** A {@link ServerConfig} for tests; `overrides` replaces any field. */
export function testServerConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBytes: 65536,
    maxBatch: 64,
    maxConnections: 16,
    maxConnectionsPerClient: 16,
    idleTimeoutMs: 60_000,
    stallTimeoutMs: 10_000,
    shutdownGraceMs: 1_000,
    allowFrom: [],
    logLevel: "error",
    ...overrides,
  };
}
