/**
 * Turns a parsed JSON value into a request to run, or into the error to answer.
 *
 * Two dialects share the port. A request without a `"jsonrpc":"2.0"` member is *legacy*: what
 * LEPV and `nc` send, validated in the order of docs/protocol.md 1.5 and answered in the cJSON style
 * with the marker. A request with it follows the JSON-RPC 2.0 specification (notifications,
 * batches, `null` ids) and is answered in compact JSON.
 *
 * @module
 */

import { type Member, objectMembers } from "./members.ts";
import { ErrorCode, ErrorMessage } from "./protocol.ts";

/** Which response style a request asked for. */
export type Dialect = "legacy" | "2.0";

/** A request id as it appears on the wire; `null` only in JSON-RPC 2.0. */
export type RequestId = string | number | null;

/**
 * The result form a JSON-RPC 2.0 request chose with `params: {"format": …}`: `text` (the default,
 * the legacy text) or `json` (a typed object, docs/protocol.md 1.10).
 */
export type ResultFormat = "text" | "json";

/** A valid request: the method name and, when the client sent one, its id. */
export interface Call {
  dialect: Dialect;
  method: string;
  /** Present only when a JSON-RPC 2.0 request asked for `"format":"json"`. */
  format?: "json";
  /** Absent when the request carried no id (legacy) or is a notification (2.0). */
  id?: RequestId;
  /**
   * The id's source text, present when it is a number that a double does not print back as
   * sent (`12345678901234567890`, `1e400`, `1.50`): JSON-RPC 2.0 echoes these bytes.
   */
  idSource?: string;
}

/** An error reply decided before any method runs. */
export interface Rejection {
  dialect: Dialect;
  code: number;
  message: string;
  id?: RequestId;
  /** As `Call.idSource`. */
  idSource?: string;
}

/** The outcome of validating one request object. */
export type Validation = { ok: true; call: Call } | { ok: false; rejection: Rejection };

/**
 * The members of a request object, looked up by name: the first occurrence wins, and names
 * compare exactly in JSON-RPC 2.0 and case-insensitively in the legacy dialect, as the
 * original's parser did (docs/protocol.md 1.4).
 */
class Members {
  readonly #members: readonly Member[];

  /**
   * @param object the parsed request
   * @param source its JSON text, which alone shows duplicate names and numbers as written;
   *   without it the parsed object's own members are used
   */
  constructor(object: Record<string, unknown>, source: string | undefined) {
    this.#members = source === undefined
      ? Object.keys(object).map((name) => ({ name, source: JSON.stringify(object[name]) }))
      : objectMembers(source);
  }

  /** The first member of that name, or undefined. */
  get(name: string, exact: boolean): Member | undefined {
    for (const member of this.#members) {
      if (exact ? member.name === name : member.name.toLowerCase() === name) return member;
    }
    return undefined;
  }
}

/** The parsed value of a member. */
function valueOf(member: Member | undefined): unknown {
  return member === undefined ? undefined : JSON.parse(member.source);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * True for a value that is a JSON-RPC 2.0 request: its first member named exactly `jsonrpc` is
 * the string `2.0`.
 *
 * @param source the value's JSON text, when known (see `Members`)
 */
export function isJsonRpc2(value: unknown, source?: string): boolean {
  return isPlainObject(value) && valueOf(new Members(value, source).get("jsonrpc", true)) === "2.0";
}

/**
 * Validates one request value.
 *
 * @param value what the framer parsed
 * @param options.hasMethod whether a method name is registered
 * @param options.dialect forces a dialect (batch members are always JSON-RPC 2.0)
 * @param options.source the value's JSON text as received: with it the first of two members of
 *   one name wins and a numeric id keeps its source text
 */
export function validateRequest(
  value: unknown,
  options: { hasMethod: (name: string) => boolean; dialect?: Dialect; source?: string },
): Validation {
  const members = isPlainObject(value) ? new Members(value, options.source) : undefined;
  const dialect: Dialect = options.dialect ??
    (valueOf(members?.get("jsonrpc", true)) === "2.0" ? "2.0" : "legacy");
  const exact = dialect === "2.0";
  let idFields: { id?: RequestId; idSource?: string } = {};
  const invalid = (): Validation => ({
    ok: false,
    rejection: {
      dialect,
      code: ErrorCode.INVALID_REQUEST,
      message: ErrorMessage.INVALID_REQUEST,
      // A legacy -32600 never echoes the id (docs/protocol.md 1.6); JSON-RPC 2.0 answers with the
      // id when it could be read, else null.
      ...(dialect === "2.0" ? { id: null, ...idFields } : {}),
    },
  });
  if (members === undefined) return invalid();

  const idMember = members.get("id", exact);
  const idValue = valueOf(idMember);
  const idIsValid = typeof idValue === "string" || typeof idValue === "number" ||
    (dialect === "2.0" && idValue === null);
  if (idMember !== undefined && !idIsValid) return invalid();
  if (idMember !== undefined) {
    idFields = { id: idValue as RequestId };
    if (typeof idValue === "number" && String(idValue) !== idMember.source) {
      idFields.idSource = idMember.source;
    }
  }

  if (dialect === "2.0" && valueOf(members.get("jsonrpc", true)) !== "2.0") return invalid();
  const method = valueOf(members.get("method", exact));
  if (typeof method !== "string") return invalid();
  const params = members.get("params", exact);
  // Only its type matters, which its first character tells: an object or an array.
  if (params !== undefined && params.source[0] !== "{" && params.source[0] !== "[") {
    return invalid();
  }

  if (!options.hasMethod(method)) {
    return {
      ok: false,
      rejection: {
        dialect,
        code: ErrorCode.METHOD_NOT_FOUND,
        message: ErrorMessage.METHOD_NOT_FOUND,
        ...idFields,
      },
    };
  }
  // Only JSON-RPC 2.0 reads params; the legacy dialect ignores them, as the original did.
  let format: ResultFormat = "text";
  if (dialect === "2.0" && params !== undefined && params.source[0] === "{") {
    const formatMember = objectMembers(params.source).find((member) => member.name === "format");
    if (formatMember !== undefined) {
      const value = JSON.parse(formatMember.source);
      if (value !== "text" && value !== "json") {
        return {
          ok: false,
          rejection: {
            dialect,
            code: ErrorCode.INVALID_PARAMS,
            message: ErrorMessage.INVALID_PARAMS,
            ...idFields,
          },
        };
      }
      format = value;
    }
  }
  return {
    ok: true,
    call: { dialect, method, ...idFields, ...(format === "json" ? { format } : {}) },
  };
}
