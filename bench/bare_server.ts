/**
 * Reference server of `bench/footprint.ts`: a bare single-isolate Deno TCP server that reads the
 * /proc file and answers in the same isolate (see `reference_common.ts` for what it answers).
 * Prints its port on stdout.
 *
 * ```sh
 * deno run -A bench/bare_server.ts [port]
 * ```
 *
 * @module
 */

import { answer, encodeLegacy, methodsIn } from "./reference_common.ts";

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
console.log(listener.addr.port);

async function serve(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    while (true) {
      const count = await conn.read(buffer);
      if (count === null) break;
      for (const method of methodsIn(buffer.subarray(0, count))) {
        const bytes = encodeLegacy(answer(method));
        let offset = 0;
        while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
      }
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

for await (const conn of listener) {
  conn.setNoDelay(true);
  serve(conn);
}
