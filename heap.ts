/**
 * A full garbage collection of this isolate at a fixed period, when it allocated since the last.
 *
 * V8 collects its old generation when the heap reaches a limit, and its memory reducer returns
 * freed pages only once the isolate has gone idle. A daemon polled every two seconds is never idle
 * by V8's measure, so garbage that outlived a young collection (every sampler snapshot does) piles
 * up until the limit: under a LEPV-style poll lepd's RSS rose from 77 to 89 MiB over 17 minutes,
 * fell back at a full collection, and rose again. Collecting every minute, when the heap grew by
 * more than {@link MIN_GROWTH_BYTES} since the previous collection, keeps it near its live size
 * for a pause of a few milliseconds a minute; an idle daemon pays nothing.
 *
 * It needs `--v8-flags=--expose-gc` (the start task, the unit and the artifacts carry it); without
 * it there is nothing to call and V8's own heuristics stay in charge.
 *
 * @module
 */

/** Growth of the used heap since the last collection below which a period passes without one. */
export const MIN_GROWTH_BYTES = 1 << 20;

/**
 * Growth that is collected at the next sixth of a period: a burst of requests allocates
 * megabytes in seconds, and waiting for the whole period let RSS swing by 11 MiB in a
 * full-speed soak (7 MiB with these checks), where a dashboard's poll never reaches it between
 * two periods.
 */
export const BURST_GROWTH_BYTES = 4 << 20;

/** Checks per period: the burst rule looks this often. */
export const CHECKS_PER_PERIOD = 6;

/** What a periodic collection needs from its surroundings (tests pass their own). */
export interface HeapControls {
  /** The full collection (`globalThis.gc` under `--expose-gc`). */
  collect: () => void;
  /** Bytes of the heap in use now. */
  heapUsed: () => number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every: (tick: () => void, ms: number) => () => void;
}

/** `globalThis.gc`, present only when V8 runs with `--expose-gc`. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function" ? () => gc() : undefined;
}

/** The controls of this isolate, or undefined without `--expose-gc`. */
export function isolateHeap(): HeapControls | undefined {
  const collect = exposedGc();
  if (collect === undefined) return undefined;
  return {
    collect,
    heapUsed: () => Deno.memoryUsage().heapUsed,
    every: (tick, ms) => {
      const timer = setInterval(tick, ms);
      Deno.unrefTimer(timer); // never what keeps the process alive
      return () => clearInterval(timer);
    },
  };
}

/**
 * Collects once at start; then, at every `intervalMs`, when the used heap grew by
 * {@link MIN_GROWTH_BYTES} or more since the previous collection, and at every sixth of it when
 * it grew by {@link BURST_GROWTH_BYTES}. Returns the function that stops it.
 */
export function collectPeriodically(intervalMs: number, heap: HeapControls): () => void {
  heap.collect();
  let baseline = heap.heapUsed();
  let checks = 0;
  return heap.every(() => {
    checks = (checks + 1) % CHECKS_PER_PERIOD;
    const growth = heap.heapUsed() - baseline;
    if (growth < (checks === 0 ? MIN_GROWTH_BYTES : BURST_GROWTH_BYTES)) return;
    heap.collect();
    baseline = heap.heapUsed();
    checks = 0;
  }, intervalMs / CHECKS_PER_PERIOD);
}

/**
 * Starts {@link collectPeriodically} for this isolate when `intervalMs` is above 0. False when it
 * was asked for and V8 does not expose `gc()` (no `--expose-gc`): the caller says so.
 */
export function collectThisIsolate(intervalMs: number): boolean {
  if (intervalMs <= 0) return true;
  const heap = isolateHeap();
  if (heap === undefined) return false;
  collectPeriodically(intervalMs, heap);
  return true;
}
