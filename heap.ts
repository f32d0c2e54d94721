/**
 * Full garbage collections of this isolate that lepd schedules itself, when it allocated since
 * the last, each handing the freed pages back to the system.
 *
 * V8 collects its old generation when the heap reaches a limit, and its memory reducer returns
 * freed pages only once the isolate has gone idle. A daemon polled every two seconds is never idle
 * by V8's measure, so garbage that outlived a young collection (every sampler snapshot does) piles
 * up until the limit: under a LEPV-style poll lepd's RSS rose from 77 to 89 MiB over 17 minutes,
 * fell back at a full collection, and rose again. The rules of {@link collectPeriodically} keep
 * each heap near its live size: once a period under a poll, soon after a burst ends, and every
 * {@link BURST_GROWTH_BYTES} under full load; an idle daemon pays nothing.
 *
 * It needs `--v8-flags=--expose-gc` (the start task, the unit and the artifacts carry it); without
 * it there is nothing to call and V8's own heuristics stay in charge.
 *
 * @module
 */

/** Growth of the used heap since the last collection below which a period passes without one. */
export const MIN_GROWTH_BYTES = 1 << 20;

/**
 * Growth that is collected as soon as it is seen: at the next sixth of a period, or at the next
 * {@link CALLS_PER_LOOK}th call. Four connections at full speed grow each heap by 0.5–1 MiB a
 * second; looked at only every 10 s, with 4 MiB here, RSS swung by 7–8 MiB in a 10-minute soak.
 * A dashboard's poll (about 1 MiB a minute) never reaches it between two periods.
 */
export const BURST_GROWTH_BYTES = 2 << 20;

/** Checks per period: the burst and the quiet rule look this often. */
export const CHECKS_PER_PERIOD = 6;

/**
 * Calls between two looks at the heap for the burst rule: a look (`Deno.memoryUsage()`) costs
 * about 14 µs, 0.2 µs a call this way, and 64 calls allocate well under a MiB.
 */
export const CALLS_PER_LOOK = 64;

/** What a periodic collection needs from its surroundings (tests pass their own). */
export interface HeapControls {
  /** The full collection (`globalThis.gc` under `--expose-gc`). */
  collect: () => void;
  /** Bytes of the heap in use now. */
  heapUsed: () => number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every: (tick: () => void, ms: number) => () => void;
}

/** A running schedule of collections (see {@link collectPeriodically}). */
export interface HeapKeeper {
  /** Says that the isolate served one call: the quiet rule's measure and the burst rule's pace. */
  served(): void;
  /** Stops the schedule: no collection after it, from the timer or from calls. */
  stop(): void;
}

/**
 * What {@link exposedGc} asks of V8: a full collection now, of the `last-resort` kind, which
 * compacts the heap and has handed its freed pages back to the system when it returns. A plain
 * `gc()` frees the same objects but leaves the unmapping to a helper thread, done or not when
 * the daemon looks again: of a 165 MiB heap's pages it left 143–149 MiB in seven runs of eight
 * (this kind: 14–16 MiB every time, tests/heap_test.ts). It costs about twice a plain one (5.6
 * against 2.7 ms on a 2 MiB heap).
 */
export const GC_OPTIONS = { type: "major", execution: "sync", flavor: "last-resort" } as const;

/** `globalThis.gc` with {@link GC_OPTIONS}, present only when V8 runs with `--expose-gc`. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function"
    ? () => (gc as (options: typeof GC_OPTIONS) => void)(GC_OPTIONS)
    : undefined;
}

/**
 * The controls of this isolate, or undefined without `--expose-gc`; `afterCollect` runs after
 * each collection (the main isolate trims the C allocator's arenas).
 */
export function isolateHeap(afterCollect?: () => void): HeapControls | undefined {
  const gc = exposedGc();
  if (gc === undefined) return undefined;
  return {
    collect: afterCollect === undefined ? gc : () => {
      gc();
      afterCollect();
    },
    heapUsed: () => Deno.memoryUsage().heapUsed,
    every: (tick, ms) => {
      const timer = setInterval(tick, ms);
      Deno.unrefTimer(timer); // never what keeps the process alive
      return () => clearInterval(timer);
    },
  };
}

/**
 * Collects once at start; then when the used heap grew since the previous collection:
 * - by {@link MIN_GROWTH_BYTES} at every `intervalMs`;
 * - by {@link MIN_GROWTH_BYTES} at a sixth of it that finds no call since the previous sixth:
 *   a burst of requests followed by silence gives its memory back within 20 s (at the default
 *   period), where V8, which never sees a polled daemon as idle, would keep it;
 * - by {@link BURST_GROWTH_BYTES} at a sixth of it, or at every {@link CALLS_PER_LOOK}th call.
 */
export function collectPeriodically(intervalMs: number, heap: HeapControls): HeapKeeper {
  heap.collect();
  let baseline = heap.heapUsed();
  let checks = 0;
  let calls = 0;
  let callsAtCheck = 0;
  let untilLook = CALLS_PER_LOOK;
  let stopped = false;
  const collectAt = (threshold: number) => {
    if (stopped || heap.heapUsed() - baseline < threshold) return;
    heap.collect();
    baseline = heap.heapUsed();
    checks = 0;
  };
  const stopTimer = heap.every(() => {
    checks = (checks + 1) % CHECKS_PER_PERIOD;
    const quiet = calls === callsAtCheck;
    callsAtCheck = calls;
    collectAt(checks === 0 || quiet ? MIN_GROWTH_BYTES : BURST_GROWTH_BYTES);
  }, intervalMs / CHECKS_PER_PERIOD);
  return {
    served() {
      calls++;
      if (--untilLook > 0) return;
      untilLook = CALLS_PER_LOOK;
      collectAt(BURST_GROWTH_BYTES);
    },
    stop() {
      stopped = true;
      stopTimer();
    },
  };
}

/** A keeper that does nothing: collections off (`--gc-interval 0`). */
const NO_KEEPER: HeapKeeper = { served() {}, stop() {} };

/**
 * Starts {@link collectPeriodically} for this isolate when `intervalMs` is above 0 (a keeper
 * that does nothing otherwise). Undefined when it was asked for and V8 does not expose `gc()`
 * (no `--expose-gc`): the caller says so.
 */
export function collectThisIsolate(
  intervalMs: number,
  afterCollect?: () => void,
): HeapKeeper | undefined {
  if (intervalMs <= 0) return NO_KEEPER;
  const heap = isolateHeap(afterCollect);
  if (heap === undefined) return undefined;
  return collectPeriodically(intervalMs, heap);
}
