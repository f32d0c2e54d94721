/**
 * Sampling for rate-based methods.
 *
 * The original slept a second inside every rate-based request (iotop, irq_info, mpstat). Here
 * a source keeps its two most recent snapshots and answers from the interval between them. The
 * first request takes a snapshot and waits one interval for the second; a minute without
 * requests drops them. Several dashboards polling one board cost one sampler, not one sleep
 * each. A source takes its snapshots in one of two ways:
 *
 * - **On a clock** (the default), for snapshots too slow to take inside a request, such as the
 *   stat file of every process: while clients ask, a snapshot every interval, and requests are
 *   answered at once from the latest pair. All such sources with the same interval share one
 *   clock, so every tick takes their snapshots back to back: one wake-up a second instead of one
 *   per source matters on small boards and virtual machines, where a thread woken from idle runs
 *   several times slower than a warm one.
 * - **On demand**, for small system-wide counter files (/proc/stat, /proc/diskstats …): a
 *   request takes a new snapshot when the latest is at least half an interval old, so the
 *   interval it answers from is the time since the previous snapshot, as in `top`, whose
 *   figures cover the time since its previous refresh. No timer runs between requests: a
 *   dashboard polling every two seconds costs one read of each file per poll, not two, and no
 *   wake-ups of its own.
 *
 * @module
 */

/** A timer handle of a {@link Clock}, opaque to the sampler. */
export type TimerId = unknown;

type RealTimer = ReturnType<typeof setTimeout>;

/**
 * The time a sampler runs on: its readings and its timers. The daemon uses {@link REAL_CLOCK};
 * tests pass a virtual one and move it forward themselves, so they need not sleep.
 */
export interface Clock {
  /** Monotonic milliseconds (as `this.#clock.now()`). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (as `this.#clock.wallNow()`). */
  wallNow(): number;
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId | undefined): void;
  setInterval(callback: () => void, ms: number): TimerId;
  clearInterval(id: TimerId | undefined): void;
}

/** The process's own clocks and timers. */
export const REAL_CLOCK: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id as RealTimer | undefined),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (id) => clearInterval(id as RealTimer | undefined),
};

/** One timer that ticks every source of one interval length, in registration order. */
class SharedClock {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #subscribers = new Set<() => void>();
  #timer: TimerId | undefined;

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  subscribe(tick: () => void): void {
    this.#subscribers.add(tick);
    this.#timer ??= this.#clock.setInterval(() => {
      for (const subscriber of [...this.#subscribers]) subscriber();
    }, this.#intervalMs);
  }

  unsubscribe(tick: () => void): void {
    this.#subscribers.delete(tick);
    if (this.#subscribers.size > 0 || this.#timer === undefined) return;
    this.#clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The shared clocks, per time source and interval length. */
const clocks = new WeakMap<Clock, Map<number, SharedClock>>();

function clockOf(clock: Clock, intervalMs: number): SharedClock {
  let byInterval = clocks.get(clock);
  if (byInterval === undefined) {
    byInterval = new Map();
    clocks.set(clock, byInterval);
  }
  let shared = byInterval.get(intervalMs);
  if (shared === undefined) {
    shared = new SharedClock(clock, intervalMs);
    byInterval.set(intervalMs, shared);
  }
  return shared;
}

/** Two consecutive snapshots and the time between them. */
export interface Interval<T> {
  previous: T;
  latest: T;
  /** Seconds between the two snapshots (monotonic clock). */
  seconds: number;
  /** Wall-clock time of the latest snapshot, milliseconds since the epoch. */
  takenAt: number;
}

/** Timing of a sampled source. */
export interface SamplingOptions {
  /** Time between snapshots (default 1000 ms). */
  intervalMs?: number;
  /** Stop after this long without a request (default 60 000 ms). */
  idleStopMs?: number;
  /** Time and timers (default {@link REAL_CLOCK}; tests pass a virtual clock). */
  clock?: Clock;
}

/** How a source takes its snapshots; see the module documentation. */
export type SamplingMode = "clock" | "demand";

interface Snapshot<T> {
  value: T;
  monotonicMs: number;
  wallMs: number;
}

/**
 * One thing sampled periodically, e.g. the CPU ticks of every process.
 *
 * ```ts
 * const ticks = new SampledSource(() => readTicks(fs));
 * const { previous, latest, seconds } = await ticks.interval();
 * ```
 */
export class SampledSource<T> {
  readonly #read: () => T;
  readonly #intervalMs: number;
  readonly #idleStopMs: number;
  readonly #mode: SamplingMode;
  readonly #clock: Clock;
  #previous: Snapshot<T> | undefined;
  #latest: Snapshot<T> | undefined;
  readonly #onTick = () => this.#tick();
  /** On a clock: subscribed to it. */
  #running = false;
  /** On demand: the one-shot timer that takes the snapshot waiting requests need. */
  #pending: TimerId | undefined;
  #lastDemandMs = 0;
  #waiters: {
    ready: (interval: Interval<T>) => boolean;
    resolve: (interval: Interval<T>) => void;
    reject: (error: unknown) => void;
  }[] = [];

  /**
   * @param read takes one snapshot; it may throw (e.g. `MethodFailure`), which fails the
   *   requests waiting for that snapshot and stops the source until the next request
   * @param mode on a clock (the default) or on demand; see the module documentation
   */
  constructor(read: () => T, options: SamplingOptions = {}, mode: SamplingMode = "clock") {
    this.#read = read;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#idleStopMs = options.idleStopMs ?? 60_000;
    this.#mode = mode;
    this.#clock = options.clock ?? REAL_CLOCK;
  }

  /** True while the source samples: it ticks, or holds snapshots to answer from. */
  get running(): boolean {
    if (this.#mode === "clock") return this.#running;
    return this.#latest !== undefined && !this.#idle();
  }

  /**
   * The latest interval; starts the source when it is stopped and then waits for one interval.
   *
   * @throws whatever the snapshot function threw
   */
  interval(): Promise<Interval<T>> {
    return this.intervalWhere(() => true);
  }

  /**
   * Like {@link interval}, but waits until `ready` holds for the latest interval: for a
   * snapshot part that is read only while someone asks for it, and so is missing from
   * snapshots taken before.
   *
   * @throws whatever the snapshot function threw
   */
  intervalWhere(ready: (interval: Interval<T>) => boolean): Promise<Interval<T>> {
    if (this.#mode === "demand") return this.#onDemand(ready);
    this.#lastDemandMs = this.#clock.now();
    const waiting = this.#wait(ready);
    if (!this.#running) {
      // Stopped, so there are no snapshots: this one starts a pair. A failure fails the request.
      if (!this.#advance()) return waiting;
      this.#running = true;
      clockOf(this.#clock, this.#intervalMs).subscribe(this.#onTick);
    }
    this.#settle();
    return waiting;
  }

  /** Stops sampling and drops the snapshots; waiting requests fail with `reason`. */
  stop(reason: unknown = new Error("Sampling stopped")): void {
    if (this.#running) clockOf(this.#clock, this.#intervalMs).unsubscribe(this.#onTick);
    this.#running = false;
    this.#clock.clearTimeout(this.#pending);
    this.#pending = undefined;
    this.#previous = undefined;
    this.#latest = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(reason);
  }

  #onDemand(ready: (interval: Interval<T>) => boolean): Promise<Interval<T>> {
    const now = this.#clock.now();
    if (this.#idle() && this.#pending === undefined) {
      // Rates over more than the idle time would be stale averages: start afresh.
      this.#previous = undefined;
      this.#latest = undefined;
    }
    this.#lastDemandMs = now;
    const age = now - (this.#latest?.monotonicMs ?? Number.NEGATIVE_INFINITY);
    const waiting = this.#wait(ready);
    // Half an interval, as on the clock: a poller at exactly the interval, woken a little
    // early, still gets a fresh snapshot instead of every other one. A failed snapshot has
    // already failed this request.
    if (this.#pending === undefined && age >= this.#intervalMs / 2 && !this.#advance()) {
      return waiting;
    }
    this.#settle();
    if (this.#waiters.length > 0) this.#schedule();
    return waiting;
  }

  /** A request waiting until the latest interval is ready for it. */
  #wait(ready: (interval: Interval<T>) => boolean): Promise<Interval<T>> {
    return new Promise((resolve, reject) => this.#waiters.push({ ready, resolve, reject }));
  }

  /** On demand: takes the next snapshot one interval after the latest, for waiting requests. */
  #schedule(): void {
    if (this.#pending !== undefined) return;
    const due = this.#latest!.monotonicMs + this.#intervalMs - this.#clock.now();
    this.#pending = this.#clock.setTimeout(() => {
      this.#pending = undefined;
      if (!this.#advance()) return;
      this.#settle();
      if (this.#waiters.length > 0) this.#schedule();
    }, Math.max(0, due));
  }

  /** True when no request came for the idle time. */
  #idle(): boolean {
    return this.#clock.now() - this.#lastDemandMs > this.#idleStopMs;
  }

  #take(): Snapshot<T> {
    return { value: this.#read(), monotonicMs: this.#clock.now(), wallMs: this.#clock.wallNow() };
  }

  /**
   * Takes a snapshot; the latest becomes the previous. When the snapshot fails, stops the source,
   * failing the waiting requests with the error, and returns false.
   */
  #advance(): boolean {
    let snapshot: Snapshot<T>;
    try {
      snapshot = this.#take();
    } catch (error) {
      this.stop(error);
      return false;
    }
    this.#previous = this.#latest;
    this.#latest = snapshot;
    return true;
  }

  #current(): Interval<T> | undefined {
    if (this.#previous === undefined || this.#latest === undefined) return undefined;
    return {
      previous: this.#previous.value,
      latest: this.#latest.value,
      seconds: (this.#latest.monotonicMs - this.#previous.monotonicMs) / 1000,
      takenAt: this.#latest.wallMs,
    };
  }

  /** Answers the waiting requests the latest interval is ready for. */
  #settle(): void {
    const current = this.#current();
    if (current === undefined) return;
    const waiting = this.#waiters;
    this.#waiters = waiting.filter((waiter) => !waiter.ready(current));
    for (const waiter of waiting) if (waiter.ready(current)) waiter.resolve(current);
  }

  #tick(): void {
    if (this.#idle()) {
      this.stop();
      return;
    }
    // A source started just before a shared tick waits for the next one: an interval much
    // shorter than intended would make rates noisy.
    const sinceLatest = this.#clock.now() - (this.#latest?.monotonicMs ?? Number.NEGATIVE_INFINITY);
    if (sinceLatest < this.#intervalMs / 2) return;
    if (this.#advance()) this.#settle();
  }
}
