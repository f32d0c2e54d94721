/**
 * Child of the keepEventShapes test (tests/messages_test.ts), run with
 * `--v8-flags=--expose-gc,--trace-deopt,--no-concurrent-recompilation`: dispatches message events
 * until Deno's event dispatch is optimized, then makes the periodic collection of heap.ts and
 * prints a line before it, so that the parent counts the functions V8 deoptimized at it. With
 * the argument `keep`, each event is handed to keepEventShapes first, as both isolates do.
 */

import { exposedGc } from "../../heap.ts";
import { keepEventShapes } from "../../rpc/messages.ts";

const keep = Deno.args[0] === "keep";
const target = new EventTarget();
let seen = 0;
target.addEventListener("message", (event) => {
  seen += (event as MessageEvent<number>).data;
});
const deliver = (count: number) => {
  for (let i = 0; i < count; i++) {
    const event = new MessageEvent("message", { data: 1 });
    if (keep) keepEventShapes(event);
    target.dispatchEvent(event);
  }
};
// Two runs with a turn of the event loop between them, as messages come to an isolate.
deliver(20_000);
await new Promise((resolve) => setTimeout(resolve, 0));
deliver(2_000);
const collect = exposedGc();
if (collect === undefined) throw new Error("run me with --v8-flags=--expose-gc");
console.log("collecting");
collect();
console.log(`collected after ${seen} events`);
