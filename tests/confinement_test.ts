// The network worker's confinement and the method table as the only way to a collector.

import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import type { MethodOutcome, ServerConfig } from "../rpc/messages.ts";
import { listenAddress, startNetworkWorker, workerPermissions } from "../rpc/worker_host.ts";
import { Client, freePort, legacyText } from "./helpers/daemon.ts";
import { testServerConfig } from "./helpers/server_config.ts";

interface ProbeReport {
  read: string;
  readProc: string;
  run: string;
  env: string;
  write: string;
  listenAllowed: string;
  listenOther: string;
  connectOut: string;
}

Deno.test("code with the network worker's permissions cannot read, spawn or see the environment", async () => {
  const port = freePort();
  const worker = new Worker(new URL("./helpers/probe_worker.ts", import.meta.url), {
    type: "module",
    deno: { permissions: workerPermissions(listenAddress("127.0.0.1", port)) },
  });
  const report = await new Promise<ProbeReport>((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(event.message));
    };
    worker.postMessage({ port, otherPort: freePort() });
  });
  worker.terminate();
  assert.deepEqual(report, {
    read: "NotCapable",
    readProc: "NotCapable",
    run: "NotCapable",
    env: "NotCapable",
    write: "NotCapable",
    listenAllowed: "ok",
    listenOther: "NotCapable",
    connectOut: "NotCapable",
  });
});

function config(port: number): ServerConfig {
  return testServerConfig({ port });
}

Deno.test("only registered method names reach the collectors, with no request data", async () => {
  const received: unknown[][] = [];
  const methods = {
    names: () => ["SayHello", "GetProcMeminfo"],
    call(...args: unknown[]): Promise<MethodOutcome> {
      received.push(args);
      return Promise.resolve({ ok: true, text: `ran ${String(args[0])}` });
    },
  };
  const port = freePort();
  const worker = await startNetworkWorker(config(port), {
    methods,
    log: new Logger("error", "test"),
  });
  const client = await Client.connect(port);
  try {
    const requests = [
      { method: "SayHello", params: { path: "/etc/shadow" }, id: 1 },
      { method: "GetProcMeminfo", params: ["../../etc/passwd"] },
      { method: "GetProcMeminfo/../../etc/passwd" },
      { method: "sayhello" },
      { method: "constructor" },
      { method: "__proto__" },
      { method: "toString" },
      { jsonrpc: "2.0", method: "Nope", params: { cmd: "rm -rf /" }, id: 2 },
    ];
    const responses = [];
    for (const request of requests) responses.push(await client.request(request));
    assert.equal(legacyText(responses[0]!), "ran SayHello");
    assert.equal(legacyText(responses[1]!), "ran GetProcMeminfo");
    for (const response of responses.slice(2)) {
      assert.equal((response.error as { code: number }).code, -32601, JSON.stringify(response));
    }
    assert.deepEqual(received, [["SayHello"], ["GetProcMeminfo"]]);
  } finally {
    client.close();
    await worker.stop();
  }
});
