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

/** Checks per period: the burst and the quiet rule look this often. */
export const CHECKS_PER_PERIOD = 6;

/** What a periodic collection needs from its surroundings (tests pass their own). */
export interface HeapControls {
  /** The full collection (`globalThis.gc` under `--expose-gc`). */
  collect: () => void;
  /** Bytes of the heap in use now. */
  heapUsed: () => number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every: (tick: () => void, ms: number) => () => void;
  /**
   * A count that moves whenever the isolate serves something (method calls): a check that finds
   * it where the previous one left it sees a quiet isolate. Without it, no check is quiet.
   */
  activity?: () => number;
}

/**
 * What {@link exposedGc} asks of V8: a full collection now, of the `last-resort` kind, which
 * compacts the heap and hands its freed pages back to the system. A plain `gc()` frees the same
 * objects but keeps the pages: a heap that had grown to 280 MiB kept 276 MiB of anonymous memory
 * after `gc()` and 19 MiB after this one, and the daemon's V8 pages after a 200,000-request load
 * (see the README's "Deno flags") stay committed without it. It costs about twice a plain one
 * (5.6 against 2.7 ms on a 2 MiB heap).
 */
export const GC_OPTIONS = { type: "major", execution: "sync", flavor: "last-resort" } as const;

/** `globalThis.gc` with {@link GC_OPTIONS}, present only when V8 runs with `--expose-gc`. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function"
    ? () => (gc as (options: typeof GC_OPTIONS) => void)(GC_OPTIONS)
    : undefined;
}

/** What an isolate adds to its heap controls (see {@link HeapControls}). */
export interface IsolateHeapOptions {
  /** See {@link HeapControls.activity}. */
  activity?: () => number;
  /** Runs after each collection (the main isolate trims the C allocator's arenas). */
  afterCollect?: () => void;
}

/** The controls of this isolate, or undefined without `--expose-gc`. */
export function isolateHeap(options: IsolateHeapOptions = {}): HeapControls | undefined {
  const gc = exposedGc();
  if (gc === undefined) return undefined;
  const { activity, afterCollect } = options;
  return {
    collect: afterCollect === undefined ? gc : () => {
      gc();
      afterCollect();
    },
    ...(activity === undefined ? {} : { activity }),
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
 * {@link MIN_GROWTH_BYTES} or more since the previous collection; and at every sixth of it when
 * it grew by {@link BURST_GROWTH_BYTES}, or by {@link MIN_GROWTH_BYTES} and the isolate went
 * quiet (its {@link HeapControls.activity} did not move since the previous check): a burst of
 * requests followed by silence gives its memory back within two sixths of a period, where V8,
 * which never sees a polled daemon as idle, would keep it. Returns the function that stops it.
 */
export function collectPeriodically(intervalMs: number, heap: HeapControls): () => void {
  heap.collect();
  let baseline = heap.heapUsed();
  let checks = 0;
  let lastActivity = heap.activity?.();
  return heap.every(() => {
    checks = (checks + 1) % CHECKS_PER_PERIOD;
    const activity = heap.activity?.();
    const quiet = activity !== undefined && activity === lastActivity;
    lastActivity = activity;
    const growth = heap.heapUsed() - baseline;
    const threshold = checks === 0 || quiet ? MIN_GROWTH_BYTES : BURST_GROWTH_BYTES;
    if (growth < threshold) return;
    heap.collect();
    baseline = heap.heapUsed();
    checks = 0;
  }, intervalMs / CHECKS_PER_PERIOD);
}

/**
 * Starts {@link collectPeriodically} for this isolate when `intervalMs` is above 0. False when it
 * was asked for and V8 does not expose `gc()` (no `--expose-gc`): the caller says so.
 */
export function collectThisIsolate(intervalMs: number, options: IsolateHeapOptions = {}): boolean {
  if (intervalMs <= 0) return true;
  const heap = isolateHeap(options);
  if (heap === undefined) return false;
  collectPeriodically(intervalMs, heap);
  return true;
}
