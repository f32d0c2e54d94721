/**
 * Encodes replies into the exact bytes a client receives.
 *
 * Legacy replies copy the cJSON formatted printer of the original byte for byte
 * (docs/protocol.md 1.6): TAB indentation, `":\t"`, members in the order result/error then id, and a
 * final LF, all in one buffer so the response leaves in one write. JSON-RPC 2.0 replies are
 * compact JSON on one line.
 *
 * @module
 */

import { CLIENT_CHUNK_BYTES, MARKER, MARKER_REPLACEMENT } from "./protocol.ts";
import type { Dialect, RequestId } from "./request.ts";

/**
 * What a request produced: the method's text or an error. With `json` the result is a JSON text
 * from the main isolate (format `json`, JSON-RPC 2.0 only), sent as a JSON value, not a string.
 */
export type Outcome =
  | { result: string; json?: true }
  | { error: { code: number; message: string } };

/** One response to encode. `id` is absent when the response must not carry one. */
export interface Reply {
  dialect: Dialect;
  outcome: Outcome;
  id?: RequestId;
  /** A numeric id's source text when a double does not print it back as sent (`Call.idSource`). */
  idSource?: string;
}

const encoder = new TextEncoder();
/** `JSON.rawJSON` (V8 11.4+): a value `JSON.stringify` writes as the given JSON text. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
const SPACE = 0x20;
/** Any character outside ASCII: a text without one is as long in UTF-8 as in UTF-16 units. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Makes a method's text safe to put on the wire: NUL bytes are dropped (a C client stops at
 * them, and cJSON never sent `\u0000`), and a marker inside the text is rewritten so that LEPV
 * does not stop reading early. Invalid UTF-8 was already replaced when the bytes were decoded.
 */
export function sanitizeText(text: string): string {
  let clean = text.includes("\0") ? text.replaceAll("\0", "") : text;
  if (clean.includes(MARKER)) clean = clean.replaceAll(MARKER, MARKER_REPLACEMENT);
  return clean;
}

/**
 * A legacy id as cJSON printed it: strings re-encoded without NUL characters (cJSON dropped
 * `\u0000`), numbers truncated toward zero and printed as integers without exponent (`1.9` →
 * `1`, `1e3` → `1000`). A number too large for a double (`1e400`) has no integer to print and
 * is echoed as it was sent.
 */
function legacyIdJson(id: string | number, source: string | undefined): string {
  if (typeof id === "string") {
    return JSON.stringify(id.includes("\0") ? id.replaceAll("\0", "") : id);
  }
  if (!Number.isFinite(id)) return source ?? "0";
  const whole = Math.trunc(id);
  return Number.isSafeInteger(whole) ? String(whole) : BigInt(whole).toString();
}

/**
 * Encodes one legacy reply, padded in front with spaces when needed so that the marker and the
 * bytes closing the response fall into one 2048-byte chunk of LEPV's reader (docs/protocol.md 1.8).
 */
function encodeLegacy(reply: Reply): Uint8Array {
  const idLine = reply.id === undefined || reply.id === null
    ? ""
    : `,\n\t"id":\t${legacyIdJson(reply.id, reply.idSource)}`;
  let head: string;
  let tail: string;
  if ("result" in reply.outcome) {
    head = `{\n\t"result":\t${JSON.stringify(sanitizeText(reply.outcome.result)).slice(0, -1)}`;
    tail = `"${idLine}\n}\n`;
  } else {
    const { code, message } = reply.outcome.error;
    head =
      `{\n\t"error":\t{\n\t\t"code":\t${code},\n\t\t"message":\t${JSON.stringify(message)},\n` +
      `\t\t"data":\t"`;
    tail = `"\n\t}${idLine}\n}\n`;
  }
  const body = encoder.encode(head + MARKER + tail);
  // Byte counts: a string id in the tail may hold multibyte characters.
  const tailBytes = NON_ASCII.test(tail) ? encoder.encode(tail).length : tail.length;
  const markerOffset = body.length - tailBytes - MARKER.length;
  const offsetInChunk = markerOffset % CLIENT_CHUNK_BYTES;
  if (offsetInChunk + MARKER.length + tailBytes <= CLIENT_CHUNK_BYTES) return body;
  const padding = CLIENT_CHUNK_BYTES - offsetInChunk;
  const padded = new Uint8Array(padding + body.length);
  padded.fill(SPACE, 0, padding);
  padded.set(body, padding);
  return padded;
}

function jsonRpc2Object(reply: Reply): Record<string, unknown> {
  const outcome = "result" in reply.outcome
    ? {
      // A JSON result is parsed here and written again, so that only JSON reaches the wire.
      result: reply.outcome.json === true
        ? JSON.parse(reply.outcome.result)
        : sanitizeText(reply.outcome.result),
    }
    : { error: reply.outcome.error };
  // The id goes back exactly as the client wrote it, digits and exponent included.
  const id = reply.idSource === undefined ? reply.id ?? null : rawJSON(reply.idSource);
  return { jsonrpc: "2.0", ...outcome, id };
}

/** Encodes one reply in its dialect, ready for a single write. */
export function encodeReply(reply: Reply): Uint8Array {
  if (reply.dialect === "legacy") return encodeLegacy(reply);
  return encoder.encode(JSON.stringify(jsonRpc2Object(reply)) + "\n");
}

/** Encodes the replies to a JSON-RPC 2.0 batch as one JSON array on one line. */
export function encodeBatch(replies: readonly Reply[]): Uint8Array {
  return encoder.encode(JSON.stringify(replies.map(jsonRpc2Object)) + "\n");
}
