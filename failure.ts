/**
 * The one error type collectors and parsers throw on purpose: a leaf module, like log.ts, that
 * every layer may import (proc/ parsers throw its subclass `ProcParseError`).
 *
 * @module
 */

/**
 * A failure whose message is fit for the client: one line, naming what failed and why
 * (`Cannot read "/proc/modules": no such file (this kernel does not provide it)`). The
 * registry sends it as a JSON-RPC error; any other exception is a bug and is logged as one.
 */
export class MethodFailure extends Error {
  override name = "MethodFailure";
}
