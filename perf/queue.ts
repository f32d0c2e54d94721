/**
 * One recording at a time, a short bounded queue, and shared results.
 *
 * perf samples the whole system, so two recordings at once would each disturb the other and
 * double the cost. Jobs are keyed by what they record: a request for the key that is running
 * shares the running job's result; a request for a key already queued joins that queued job;
 * otherwise a new job is queued. Every request that waits for a job that has not started yet
 * counts against the queue length, and a request beyond it fails at once with "busy" instead
 * of waiting without bound.
 *
 * @module
 */

import { MethodFailure } from "../failure.ts";

interface Job<T> {
  key: string;
  start: (signal: AbortSignal) => Promise<T>;
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
  /** Requests waiting for this job while it is queued. */
  waiters: number;
}

/** Runs keyed jobs one at a time; see the module comment for the rules. */
export class RecordingQueue<T> {
  readonly #maxWaiting: number;
  readonly #busyMessage: string;
  readonly #closedMessage: string;
  readonly #abort = new AbortController();
  readonly #queued: Job<T>[] = [];
  #running: Job<T> | undefined;
  #waiting = 0;
  #closed = false;

  /**
   * @param options.maxWaiting requests that may wait for a job that has not started yet
   * @param options.busyMessage the failure of a request beyond `maxWaiting`
   * @param options.closedMessage the failure of requests after (or queued at) close()
   */
  constructor(options: { maxWaiting: number; busyMessage: string; closedMessage: string }) {
    this.#maxWaiting = options.maxWaiting;
    this.#busyMessage = options.busyMessage;
    this.#closedMessage = options.closedMessage;
  }

  /** Requests currently waiting for a job that has not started. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Runs (or joins) the job for `key`. `start` is called only when the job's turn comes, with
   * a signal that aborts at close().
   *
   * @throws {MethodFailure} "busy" when the queue is full, or the closed message after close()
   */
  run(key: string, start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new MethodFailure(this.#closedMessage));
    if (this.#running?.key === key) return this.#running.promise;
    if (this.#waiting >= this.#maxWaiting) {
      return Promise.reject(new MethodFailure(this.#busyMessage));
    }
    let job = this.#queued.find((queued) => queued.key === key);
    if (job === undefined) {
      const { promise, resolve, reject } = Promise.withResolvers<T>();
      job = { key, start, promise, resolve, reject, waiters: 0 };
      this.#queued.push(job);
    }
    job.waiters++;
    this.#waiting++;
    if (this.#running === undefined) this.#startNext();
    return job.promise;
  }

  /**
   * Fails every queued request, aborts the running job and waits until it has settled.
   * Later calls of run() fail at once.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queued.splice(0)) {
      job.reject(new MethodFailure(this.#closedMessage));
    }
    this.#waiting = 0;
    this.#abort.abort();
    await this.#running?.promise.catch(() => {});
  }

  #startNext(): void {
    const job = this.#queued.shift();
    if (job === undefined) return;
    this.#waiting -= job.waiters;
    this.#running = job;
    // The next job starts before this one's waiters resume, so a request that arrives once
    // the result is out queues for a new recording instead of sharing a finished one.
    const finish = () => {
      this.#running = undefined;
      if (!this.#closed) this.#startNext();
    };
    Promise.resolve()
      .then(() => job.start(this.#abort.signal))
      .then(
        (value) => {
          finish();
          job.resolve(value);
        },
        (error) => {
          finish();
          job.reject(error);
        },
      );
  }
}
