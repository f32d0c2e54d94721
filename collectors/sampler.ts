/**
 * Background sampling for rate-based methods.
 *
 * The original slept a second inside every rate-based request (iotop, irq_info, mpstat). Here
 * a source keeps the two most recent snapshots, taken about one second apart, while clients
 * ask for it: the first request starts it and waits for one interval, later requests are
 * answered at once from the latest interval, and a minute without requests stops it. Several
 * dashboards polling one board cost one sampler, not one sleep each.
 *
 * All running sources with the same interval share one clock: every tick takes their snapshots
 * back to back. One wake-up a second instead of one per source matters on small boards and
 * virtual machines, where a thread woken from idle runs several times slower than a warm one.
 *
 * @module
 */

/** One timer that ticks every source of one interval length, in registration order. */
class SharedClock {
  readonly #intervalMs: number;
  readonly #subscribers = new Set<() => void>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  subscribe(tick: () => void): void {
    this.#subscribers.add(tick);
    this.#timer ??= setInterval(() => {
      for (const subscriber of [...this.#subscribers]) subscriber();
    }, this.#intervalMs);
  }

  unsubscribe(tick: () => void): void {
    this.#subscribers.delete(tick);
    if (this.#subscribers.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

const clocks = new Map<number, SharedClock>();

function clockOf(intervalMs: number): SharedClock {
  let clock = clocks.get(intervalMs);
  if (clock === undefined) {
    clock = new SharedClock(intervalMs);
    clocks.set(intervalMs, clock);
  }
  return clock;
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
}

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
  #previous: Snapshot<T> | undefined;
  #latest: Snapshot<T> | undefined;
  readonly #onTick = () => this.#tick();
  #running = false;
  #lastDemandMs = 0;
  #waiters: {
    ready: (interval: Interval<T>) => boolean;
    resolve: (interval: Interval<T>) => void;
    reject: (error: unknown) => void;
  }[] = [];

  /**
   * @param read takes one snapshot; it may throw (e.g. `MethodFailure`), which fails the
   *   requests waiting for that snapshot and stops the source until the next request
   */
  constructor(read: () => T, options: SamplingOptions = {}) {
    this.#read = read;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#idleStopMs = options.idleStopMs ?? 60_000;
  }

  /** True while the source takes snapshots. */
  get running(): boolean {
    return this.#running;
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
    this.#lastDemandMs = performance.now();
    if (!this.#running) {
      this.#previous = undefined;
      try {
        this.#latest = this.#take();
      } catch (error) {
        return Promise.reject(error);
      }
      this.#running = true;
      clockOf(this.#intervalMs).subscribe(this.#onTick);
    }
    const current = this.#current();
    if (current !== undefined && ready(current)) return Promise.resolve(current);
    return new Promise((resolve, reject) => this.#waiters.push({ ready, resolve, reject }));
  }

  /** Stops sampling and drops the snapshots; waiting requests fail with `reason`. */
  stop(reason: unknown = new Error("Sampling stopped")): void {
    if (this.#running) clockOf(this.#intervalMs).unsubscribe(this.#onTick);
    this.#running = false;
    this.#previous = undefined;
    this.#latest = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(reason);
  }

  #take(): Snapshot<T> {
    return { value: this.#read(), monotonicMs: performance.now(), wallMs: Date.now() };
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

  #tick(): void {
    if (performance.now() - this.#lastDemandMs > this.#idleStopMs) {
      this.stop();
      return;
    }
    // A source started just before a shared tick waits for the next one: an interval much
    // shorter than intended would make rates noisy.
    const sinceLatest = performance.now() - (this.#latest?.monotonicMs ?? Number.NEGATIVE_INFINITY);
    if (sinceLatest < this.#intervalMs / 2) return;
    let snapshot: Snapshot<T>;
    try {
      snapshot = this.#take();
    } catch (error) {
      this.stop(error);
      return;
    }
    this.#previous = this.#latest;
    this.#latest = snapshot;
    const current = this.#current();
    if (current === undefined) return;
    const waiting = this.#waiters;
    this.#waiters = waiting.filter((waiter) => !waiter.ready(current));
    for (const waiter of waiting) if (waiter.ready(current)) waiter.resolve(current);
  }
}
