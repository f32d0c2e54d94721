import assert from "node:assert/strict";
import { ErrorCode, ErrorMessage } from "../rpc/protocol.ts";
import { type Dialect, isJsonRpc2, validateRequest, type Validation } from "../rpc/request.ts";

const REGISTERED = new Set(["SayHello", "ListAllMethod", "GetCmdMpstat-I"]);

function validate(json: string, dialect?: Dialect): Validation {
  const value: unknown = JSON.parse(json);
  return validateRequest(
    value,
    dialect === undefined
      ? { hasMethod: (name) => REGISTERED.has(name), source: json }
      : { hasMethod: (name) => REGISTERED.has(name), dialect, source: json },
  );
}

const invalidRequest = {
  code: ErrorCode.INVALID_REQUEST,
  message: ErrorMessage.INVALID_REQUEST,
};
const methodNotFound = {
  code: ErrorCode.METHOD_NOT_FOUND,
  message: ErrorMessage.METHOD_NOT_FOUND,
};

interface Case {
  request: string;
  dialect?: Dialect;
  expected: Validation;
}

function legacyInvalid(): Validation {
  return { ok: false, rejection: { dialect: "legacy", ...invalidRequest } };
}

const legacyCases: Record<string, Case> = {
  "method missing": { request: "{}", expected: legacyInvalid() },
  "method missing but id valid": { request: '{"id":1}', expected: legacyInvalid() },
  "method is a number": { request: '{"method":5,"id":1}', expected: legacyInvalid() },
  "method is null": { request: '{"method":null}', expected: legacyInvalid() },
  "method is an array": { request: '{"method":["SayHello"]}', expected: legacyInvalid() },
  "params null": { request: '{"method":"SayHello","params":null}', expected: legacyInvalid() },
  "params number": {
    request: '{"method":"SayHello","params":1,"id":2}',
    expected: legacyInvalid(),
  },
  "params string": { request: '{"method":"SayHello","params":"x"}', expected: legacyInvalid() },
  "params boolean": { request: '{"method":"SayHello","params":false}', expected: legacyInvalid() },
  "id null": { request: '{"method":"SayHello","id":null}', expected: legacyInvalid() },
  "id true": { request: '{"method":"SayHello","id":true}', expected: legacyInvalid() },
  "id false": { request: '{"method":"SayHello","id":false}', expected: legacyInvalid() },
  "id array": { request: '{"method":"SayHello","id":[1]}', expected: legacyInvalid() },
  "id object": { request: '{"method":"SayHello","id":{"a":1}}', expected: legacyInvalid() },
  "params invalid before method lookup": {
    request: '{"method":"Nope","params":7,"id":1}',
    expected: legacyInvalid(),
  },
  "id invalid before method lookup": {
    request: '{"method":"Nope","id":null}',
    expected: legacyInvalid(),
  },
  "method missing and id invalid": { request: '{"id":true}', expected: legacyInvalid() },
  "jsonrpc 1.0 is legacy": {
    request: '{"jsonrpc":"1.0","method":"SayHello","id":null}',
    expected: legacyInvalid(),
  },
  "jsonrpc number 2.0 is legacy": {
    request: '{"jsonrpc":2.0,"method":"SayHello","id":null}',
    expected: legacyInvalid(),
  },
  "unknown method without id": {
    request: '{"method":"Nope"}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound } },
  },
  "unknown method echoes numeric id": {
    request: '{"method":"Nope","id":3}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound, id: 3 } },
  },
  "unknown method echoes string id": {
    request: '{"method":"Nope","id":"abc"}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound, id: "abc" } },
  },
  "unknown method echoes empty string id": {
    request: '{"method":"Nope","id":""}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound, id: "" } },
  },
  "empty method name": {
    request: '{"method":"","id":4}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound, id: 4 } },
  },
  "method names are case-sensitive": {
    request: '{"method":"sayhello"}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound } },
  },
  "LEPV request": {
    request: '{"method": "SayHello"}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello" } },
  },
  "hyphenated method": {
    request: '{"method":"GetCmdMpstat-I"}',
    expected: { ok: true, call: { dialect: "legacy", method: "GetCmdMpstat-I" } },
  },
  "numeric id is passed on": {
    request: '{"method":"SayHello","id":1.9}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello", id: 1.9 } },
  },
  "string id is passed on": {
    request: '{"method":"SayHello","id":"x"}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello", id: "x" } },
  },
  "params array accepted": {
    request: '{"method":"SayHello","params":[1,2]}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello" } },
  },
  "params object accepted": {
    request: '{"method":"SayHello","params":{"a":1}}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello" } },
  },
  "params empty containers accepted": {
    request: '{"method":"SayHello","params":[],"id":0}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello", id: 0 } },
  },
  "other members are ignored": {
    request: '{"method":"SayHello","jsonrpc":"1.0","extra":[null]}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello" } },
  },
  "member names are case-insensitive": {
    request: '{"METHOD":"SayHello","Id":5,"PARAMS":{}}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello", id: 5 } },
  },
  "case-insensitive params are validated": {
    request: '{"Method":"SayHello","Params":null}',
    expected: legacyInvalid(),
  },
  "case-insensitive id is validated": {
    request: '{"method":"SayHello","ID":true}',
    expected: legacyInvalid(),
  },
  "first of two method members wins": {
    request: '{"method":"SayHello","METHOD":"Nope"}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello" } },
  },
  "first of two method members wins even when unknown": {
    request: '{"Method":"Nope","method":"SayHello"}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound } },
  },
  "first of two identical id members wins": {
    request: '{"method":"SayHello","id":1,"id":2}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello", id: 1 } },
  },
  "an id beyond a double keeps its source": {
    request: '{"method":"SayHello","id":1e400}',
    expected: {
      ok: true,
      call: { dialect: "legacy", method: "SayHello", id: Infinity, idSource: "1e400" },
    },
  },
  "first of two id members wins": {
    request: '{"method":"Nope","id":8,"ID":true}',
    expected: { ok: false, rejection: { dialect: "legacy", ...methodNotFound, id: 8 } },
  },
};

for (const [name, testCase] of Object.entries(legacyCases)) {
  Deno.test(`legacy request: ${name}`, () => {
    assert.deepEqual(validate(testCase.request, testCase.dialect), testCase.expected);
  });
}

Deno.test("legacy -32600 never echoes an id, even a valid one", () => {
  for (const request of ['{"id":9}', '{"method":1,"id":9}', '{"method":"x","params":2,"id":9}']) {
    const result = validate(request);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.rejection.code, -32600);
      assert.ok(!("id" in result.rejection), request);
    }
  }
});

Deno.test("validateRequest asks the registry with the exact method name", () => {
  const asked: string[] = [];
  validateRequest({ METHOD: "GetProcMeminfo " }, {
    hasMethod: (name) => {
      asked.push(name);
      return true;
    },
  });
  assert.deepEqual(asked, ["GetProcMeminfo "]);
});

function rpc2Invalid(id: string | number | null): Validation {
  return { ok: false, rejection: { dialect: "2.0", ...invalidRequest, id } };
}

const rpc2Cases: Record<string, Case> = {
  "valid request": {
    request: '{"jsonrpc":"2.0","method":"SayHello","id":1}',
    expected: { ok: true, call: { dialect: "2.0", method: "SayHello", id: 1 } },
  },
  "id null is valid": {
    request: '{"jsonrpc":"2.0","method":"SayHello","id":null}',
    expected: { ok: true, call: { dialect: "2.0", method: "SayHello", id: null } },
  },
  "notification has no id": {
    request: '{"jsonrpc":"2.0","method":"SayHello"}',
    expected: { ok: true, call: { dialect: "2.0", method: "SayHello" } },
  },
  "unknown method echoes id": {
    request: '{"jsonrpc":"2.0","method":"Nope","id":"r1"}',
    expected: { ok: false, rejection: { dialect: "2.0", ...methodNotFound, id: "r1" } },
  },
  "unknown method echoes null id": {
    request: '{"jsonrpc":"2.0","method":"Nope","id":null}',
    expected: { ok: false, rejection: { dialect: "2.0", ...methodNotFound, id: null } },
  },
  "unknown method notification carries no id": {
    request: '{"jsonrpc":"2.0","method":"Nope"}',
    expected: { ok: false, rejection: { dialect: "2.0", ...methodNotFound } },
  },
  "method missing echoes a valid id": {
    request: '{"jsonrpc":"2.0","id":5}',
    expected: rpc2Invalid(5),
  },
  "params invalid echoes a valid id": {
    request: '{"jsonrpc":"2.0","method":"SayHello","params":"x","id":"s"}',
    expected: rpc2Invalid("s"),
  },
  "method missing without id answers id null": {
    request: '{"jsonrpc":"2.0"}',
    expected: rpc2Invalid(null),
  },
  "invalid id answers id null": {
    request: '{"jsonrpc":"2.0","method":"SayHello","id":true}',
    expected: rpc2Invalid(null),
  },
  "object id answers id null": {
    request: '{"jsonrpc":"2.0","method":"SayHello","id":{}}',
    expected: rpc2Invalid(null),
  },
  "a jsonrpc member spelled otherwise is a legacy request": {
    request: '{"JSONRPC":"2.0","Method":"SayHello","ID":2}',
    expected: { ok: true, call: { dialect: "legacy", method: "SayHello", id: 2 } },
  },
  "member names are exact: Id is not the id": {
    request: '{"jsonrpc":"2.0","method":"SayHello","Id":5,"id":6}',
    expected: { ok: true, call: { dialect: "2.0", method: "SayHello", id: 6 } },
  },
  "Method is not the method": {
    request: '{"jsonrpc":"2.0","Method":"SayHello","id":1}',
    expected: rpc2Invalid(1),
  },
  "the first of two equal names wins": {
    request: '{"jsonrpc":"2.0","method":"SayHello","id":5,"id":6}',
    expected: { ok: true, call: { dialect: "2.0", method: "SayHello", id: 5 } },
  },
  "a big integer id keeps its digits": {
    request: '{"jsonrpc":"2.0","method":"SayHello","id":12345678901234567890}',
    expected: {
      ok: true,
      call: {
        dialect: "2.0",
        method: "SayHello",
        id: 12345678901234567890,
        idSource: "12345678901234567890",
      },
    },
  },
  "forced 2.0 without jsonrpc is invalid and echoes id": {
    request: '{"method":"SayHello","id":4}',
    dialect: "2.0",
    expected: rpc2Invalid(4),
  },
  "forced 2.0 without jsonrpc and without id answers null": {
    request: '{"method":"SayHello"}',
    dialect: "2.0",
    expected: rpc2Invalid(null),
  },
  "forced 2.0 with jsonrpc 1.0 is invalid": {
    request: '{"jsonrpc":"1.0","method":"SayHello","id":"z"}',
    dialect: "2.0",
    expected: rpc2Invalid("z"),
  },
  "forced 2.0 with jsonrpc 2.0 is valid": {
    request: '{"jsonrpc":"2.0","method":"SayHello","id":6}',
    dialect: "2.0",
    expected: { ok: true, call: { dialect: "2.0", method: "SayHello", id: 6 } },
  },
  "forced 2.0 batch member that is not an object": {
    request: "5",
    dialect: "2.0",
    expected: rpc2Invalid(null),
  },
};

for (const [name, testCase] of Object.entries(rpc2Cases)) {
  Deno.test(`JSON-RPC 2.0 request: ${name}`, () => {
    assert.deepEqual(validate(testCase.request, testCase.dialect), testCase.expected);
  });
}

Deno.test("isJsonRpc2 accepts only the string 2.0 in an object", () => {
  assert.equal(isJsonRpc2({ jsonrpc: "2.0" }), true);
  assert.equal(isJsonRpc2({ JsonRpc: "2.0", method: "x" }), false);
  assert.equal(isJsonRpc2({ jsonrpc: "2.0" }, '{"jsonrpc":"2.0","jsonrpc":"1.0"}'), true);
  assert.equal(isJsonRpc2({ jsonrpc: "1.0" }, '{"jsonrpc":"1.0","jsonrpc":"2.0"}'), false);
  assert.equal(isJsonRpc2({ jsonrpc: "1.0" }), false);
  assert.equal(isJsonRpc2({ jsonrpc: 2 }), false);
  assert.equal(isJsonRpc2({ jsonrpc: "2" }), false);
  assert.equal(isJsonRpc2({ method: "SayHello" }), false);
  assert.equal(isJsonRpc2([{ jsonrpc: "2.0" }]), false);
  assert.equal(isJsonRpc2(null), false);
  assert.equal(isJsonRpc2("2.0"), false);
});
