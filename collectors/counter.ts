/**
 * Counter widths and increases now live in proc/counter.ts, beside the parsers of the files
 * whose counters they read; this module keeps the old import path working.
 *
 * @module
 */

export { counterDelta, counterIncrease, counterRate, type CounterWidth } from "../proc/counter.ts";
