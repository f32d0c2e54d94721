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

import { ErrorCode, ErrorMessage } from "./protocol.ts";

/** Which response style a request asked for. */
export type Dialect = "legacy" | "2.0";

/** A request id as it appears on the wire; `null` only in JSON-RPC 2.0. */
export type RequestId = string | number | null;

/** A valid request: the method name and, when the client sent one, its id. */
export interface Call {
  dialect: Dialect;
  method: string;
  /** Absent when the request carried no id (legacy) or is a notification (2.0). */
  id?: RequestId;
}

/** An error reply decided before any method runs. */
export interface Rejection {
  dialect: Dialect;
  code: number;
  message: string;
  id?: RequestId;
}

/** The outcome of validating one request object. */
export type Validation = { ok: true; call: Call } | { ok: false; rejection: Rejection };

/** Looks up a member the way the original did: name compared case-insensitively, first wins. */
function member(object: Record<string, unknown>, name: string): { value: unknown } | undefined {
  for (const key of Object.keys(object)) {
    if (key.toLowerCase() === name) return { value: object[key] };
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True for a value that is a JSON-RPC 2.0 request (the one member that selects the dialect). */
export function isJsonRpc2(value: unknown): boolean {
  return isPlainObject(value) && member(value, "jsonrpc")?.value === "2.0";
}

/**
 * Validates one request value.
 *
 * @param value what the framer parsed
 * @param options.hasMethod whether a method name is registered
 * @param options.dialect forces a dialect (batch members are always JSON-RPC 2.0)
 */
export function validateRequest(
  value: unknown,
  options: { hasMethod: (name: string) => boolean; dialect?: Dialect },
): Validation {
  const dialect: Dialect = options.dialect ?? (isJsonRpc2(value) ? "2.0" : "legacy");
  const invalid = (id?: RequestId): Validation => ({
    ok: false,
    rejection: {
      dialect,
      code: ErrorCode.INVALID_REQUEST,
      message: ErrorMessage.INVALID_REQUEST,
      // A legacy -32600 never echoes the id (docs/protocol.md 1.6); JSON-RPC 2.0 answers with the id
      // when it could be read, else null.
      ...(dialect === "2.0" ? { id: id ?? null } : {}),
    },
  });
  if (!isPlainObject(value)) return invalid();

  const idMember = member(value, "id");
  const idValue = idMember?.value;
  const idIsValid = typeof idValue === "string" || typeof idValue === "number" ||
    (dialect === "2.0" && idValue === null);
  if (idMember !== undefined && !idIsValid) return invalid();
  const id = idMember === undefined ? undefined : idValue as RequestId;

  if (dialect === "2.0" && member(value, "jsonrpc")?.value !== "2.0") return invalid(id);
  const method = member(value, "method")?.value;
  if (typeof method !== "string") return invalid(id);
  const params = member(value, "params");
  if (params !== undefined && (typeof params.value !== "object" || params.value === null)) {
    return invalid(id);
  }

  if (!options.hasMethod(method)) {
    return {
      ok: false,
      rejection: {
        dialect,
        code: ErrorCode.METHOD_NOT_FOUND,
        message: ErrorMessage.METHOD_NOT_FOUND,
        ...(id === undefined ? {} : { id }),
      },
    };
  }
  return { ok: true, call: { dialect, method, ...(id === undefined ? {} : { id }) } };
}
