/**
 * A clock for samplers that moves only when a test moves it: timers fire in due order inside
 * {@link VirtualClock.advance}, and `now()` is exactly the time the test set. Tests of sampling
 * run on it instead of sleeping, so a loaded machine cannot make them slow or wrong.
 *
 * @module
 */

import type { Clock, TimerId } from "../../sampling/sampler.ts";

interface Timer {
  id: number;
  due: number;
  callback: () => void;
  /** Repeats every this many milliseconds; undefined for a one-shot timer. */
  every: number | undefined;
}

export class VirtualClock implements Clock {
  #now: number;
  #wall: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  /**
   * @param startMs the monotonic reading at the start
   * @param wallStartMs the wall-clock reading at the start (ms since the epoch)
   */
  constructor(startMs = 1000, wallStartMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
    this.#wall = wallStartMs;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wall + this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    return this.#add(callback, ms, undefined);
  }

  clearTimeout(id: TimerId | undefined): void {
    if (typeof id === "number") this.#timers.delete(id);
  }

  setInterval(callback: () => void, ms: number): TimerId {
    return this.#add(callback, ms, Math.max(1, ms));
  }

  clearInterval(id: TimerId | undefined): void {
    this.clearTimeout(id);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way at its own time,
   * and lets the promises they settle run before it returns.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flushPromises();
      const next = this.#next();
      if (next === undefined || next.due > end) break;
      this.#now = next.due;
      if (next.every === undefined) this.#timers.delete(next.id);
      else next.due += next.every;
      next.callback();
    }
    this.#now = end;
    await flushPromises();
  }

  #add(callback: () => void, ms: number, every: number | undefined): number {
    const id = this.#nextId++;
    // As with real timers, a delay below 0 (or NaN) means "as soon as possible".
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.set(id, { id, due: this.#now + delay, callback, every });
    return id;
  }

  /** The timer due first; among equal times, the one set first. */
  #next(): Timer | undefined {
    let first: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (first === undefined || timer.due < first.due) first = timer;
    }
    return first;
  }
}

/** Lets every promise callback queued so far (and those they queue) run: one real macrotask. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
