/**
 * Constants of the lepd wire contract (docs/protocol.md sections 1 and 6).
 *
 * Everything a client can observe byte for byte lives here and is imported, never retyped.
 *
 * @module
 */

/** TCP port the LEP client (LEPV) connects to unless told otherwise. */
export const DEFAULT_PORT = 12307;

/** Listen address of the original daemon: the IPv4 wildcard. */
export const DEFAULT_HOSTNAME = "0.0.0.0";

/**
 * Appended to every legacy result (and carried as `data` of every legacy error): LEPV reads
 * from its socket until it sees these 13 bytes, so a legacy response without them hangs it.
 */
export const MARKER = "lepdendstring";

/**
 * What a marker inside a method's own text is rewritten to. It cannot recreate the marker with
 * its neighbours: the underscore is not part of the marker, and neither half overlaps it.
 */
export const MARKER_REPLACEMENT = "lepdend_string";

/** JSON-RPC error codes lepd sends. */
export const ErrorCode = {
  /** Invalid JSON, or a request that outgrew `--max-request-bytes`; the connection is closed. */
  PARSE_ERROR: -32700,
  /** A JSON value that is not a valid request object. */
  INVALID_REQUEST: -32600,
  /** A well-formed request for a method lepd does not have. */
  METHOD_NOT_FOUND: -32601,
  /** A JSON-RPC 2.0 request whose `params.format` is neither `"text"` nor `"json"`. */
  INVALID_PARAMS: -32602,
  /**
   * A method that exists but could not produce its text (a /proc file this kernel lacks, a
   * permission the daemon does not hold). In the JSON-RPC "server error" range.
   */
  METHOD_FAILED: -32000,
} as const;

/** Exact messages of the standard errors, as the original sent them. */
export const ErrorMessage = {
  PARSE_ERROR: "Parse error. Invalid JSON was received by the server.",
  INVALID_REQUEST: "The JSON sent is not a valid Request object.",
  METHOD_NOT_FOUND: "Method not found.",
  INVALID_PARAMS: 'Invalid params: "format" must be "text" or "json".',
} as const;

/**
 * LEPV reads responses in 2048-byte `recv` chunks and looks for the marker in each chunk on
 * its own (docs/protocol.md 1.8): the marker and the bytes that close the response are kept
 * inside one such chunk.
 */
export const CLIENT_CHUNK_BYTES = 2048;
