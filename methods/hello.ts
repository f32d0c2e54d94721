/**
 * The two methods that read nothing: the ping and the method list.
 *
 * @module
 */

import type { Collector } from "./collector.ts";

/** `SayHello`: LEPV's ping; it checks that the result starts with `Hello`. */
export const sayHello: Collector = {
  collect: () => Promise.resolve("Hello!"),
};

/**
 * `ListAllMethod`: every registered name followed by one space, the last one included, as the
 * original printed them (LEPV splits on whitespace and then calls each one).
 */
export const listAllMethod: Collector = {
  collect: ({ methods }) => Promise.resolve(methods.map((name) => `${name} `).join("")),
};
