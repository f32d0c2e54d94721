// Runs inside a worker created with the network worker's permissions and reports which
// operations the runtime refused.

/// <reference lib="deno.worker" />

async function attempt(operation: () => unknown): Promise<string> {
  try {
    await operation();
    return "ok";
  } catch (error) {
    return (error as Error).name;
  }
}

self.onmessage = async (event: MessageEvent<{ port: number; otherPort: number }>) => {
  const { port, otherPort } = event.data;
  self.postMessage({
    read: await attempt(() => Deno.readTextFile("/etc/hostname")),
    readProc: await attempt(() => Deno.readTextFile("/proc/self/status")),
    run: await attempt(() => new Deno.Command("true").output()),
    env: await attempt(() => Deno.env.get("HOME")),
    write: await attempt(() => Deno.writeTextFile("/tmp/lepd-probe", "x")),
    listenAllowed: await attempt(() => Deno.listen({ hostname: "127.0.0.1", port }).close()),
    listenOther: await attempt(() =>
      Deno.listen({ hostname: "127.0.0.1", port: otherPort }).close()
    ),
    connectOut: await attempt(async () =>
      (await Deno.connect({ hostname: "127.0.0.1", port: 22 })).close()
    ),
  });
};
