/**
 * Ids and dialects on the wire (docs/protocol.md 1.5, 1.6): every request that parses gets an
 * answer whatever its id, a JSON-RPC 2.0 id comes back exactly as sent, member names are exact
 * in 2.0 and the first of two wins, and a parse error is answered in the connection's dialect.
 * Unit cases against the encoder and validation, then the daemon over TCP.
 */
import assert from "node:assert/strict";
import { parseErrorDialect } from "../rpc/connection.ts";
import { encodeBatch, encodeReply } from "../rpc/encoder.ts";
import { arrayElements, objectMembers } from "../rpc/members.ts";
import { validateRequest } from "../rpc/request.ts";
import { startDaemon } from "./helpers/daemon.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

Deno.test("objectMembers keeps source order, duplicates and each value's text", () => {
  const text = ' { "a" : 1e400 , "b":{"x":[1,"]}"]},"a":"s\\"}","c":null,"d":-0.50}';
  assert.deepEqual(objectMembers(text), [
    { name: "a", source: "1e400" },
    { name: "b", source: '{"x":[1,"]}"]}' },
    { name: "a", source: '"s\\"}"' },
    { name: "c", source: "null" },
    { name: "d", source: "-0.50" },
  ]);
  assert.deepEqual(objectMembers("{}"), []);
  assert.deepEqual(objectMembers('{"\\u0069d":7}'), [{ name: "id", source: "7" }]);
});

Deno.test("arrayElements gives each element's text", () => {
  assert.deepEqual(arrayElements('[ {"a":[1,2]} ,3, "x,]" ,[]]'), [
    '{"a":[1,2]}',
    "3",
    '"x,]"',
    "[]",
  ]);
  assert.deepEqual(arrayElements("[]"), []);
});

function reply2(source: string): string {
  const validation = validateRequest(JSON.parse(source), { hasMethod: () => true, source });
  assert.ok(validation.ok);
  const { call } = validation;
  return decoder.decode(encodeReply({ ...call, outcome: { result: "x" } }));
}

Deno.test("JSON-RPC 2.0 ids are echoed exactly as sent", () => {
  for (const id of ["12345678901234567890", "1e400", "1.50", "-0", "7", '"a\\u0000b"', "null"]) {
    const text = reply2(`{"jsonrpc":"2.0","method":"SayHello","id":${id}}`);
    assert.ok(text.endsWith(`,"id":${id === '"a\\u0000b"' ? '"a\\u0000b"' : id}}\n`), text);
  }
  const batch = encodeBatch([{
    dialect: "2.0",
    outcome: { result: "x" },
    id: 1e21,
    idSource: "1E21",
  }]);
  assert.ok(decoder.decode(batch).includes('"id":1E21'));
});

Deno.test("a legacy id too large for a double is echoed as sent, never dropped", () => {
  const text = decoder.decode(
    encodeReply({ dialect: "legacy", outcome: { result: "Hi" }, id: Infinity, idSource: "1e400" }),
  );
  assert.equal(text, '{\n\t"result":\t"Hilepdendstring",\n\t"id":\t1e400\n}\n');
});

Deno.test("a legacy string id loses its NUL characters as the original's did", () => {
  const text = decoder.decode(
    encodeReply({ dialect: "legacy", outcome: { result: "Hi" }, id: "a\0b" }),
  );
  assert.equal(text, '{\n\t"result":\t"Hilepdendstring",\n\t"id":\t"ab"\n}\n');
});

Deno.test("parseErrorDialect: the latest request's, else what the broken text says", () => {
  assert.equal(parseErrorDialect("2.0", undefined), "2.0");
  assert.equal(parseErrorDialect("legacy", '{"jsonrpc":"2.0",'), "legacy");
  assert.equal(parseErrorDialect(undefined, '{"jsonrpc" : "2.0","method":}'), "2.0");
  assert.equal(parseErrorDialect(undefined, '[{"jsonrpc":"2.0"'), "2.0");
  assert.equal(parseErrorDialect(undefined, '{"method":'), "legacy");
  assert.equal(parseErrorDialect(undefined, undefined), "legacy");
});

/** Sends `text`, closes the sending side as `nc -q` does, and returns everything received. */
async function exchange(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(text));
    await conn.closeWrite();
    const chunks: string[] = [];
    const buffer = new Uint8Array(65536);
    while (true) {
      const count = await conn.read(buffer);
      if (count === null) break;
      chunks.push(decoder.decode(buffer.subarray(0, count), { stream: true }));
    }
    return chunks.join("");
  } finally {
    conn.close();
  }
}

Deno.test("over TCP: ids and dialects as the contract says", async (t) => {
  const daemon = await startDaemon();
  try {
    await t.step("a 1e400 legacy id between two others: all three answered", async () => {
      const text = await exchange(
        daemon.port,
        '{"method":"SayHello","id":1}{"method":"SayHello","id":1e400}{"method":"SayHello","id":3}',
      );
      const ids = [...text.matchAll(/"id":\t([^\n]+)\n/g)].map((match) => match[1]);
      assert.deepEqual(ids, ["1", "1e400", "3"], text);
    });
    await t.step("JSON-RPC 2.0 ids come back unchanged", async () => {
      const text = await exchange(
        daemon.port,
        '{"jsonrpc":"2.0","method":"SayHello","id":12345678901234567890}\n' +
          '{"jsonrpc":"2.0","method":"SayHello","id":1e400}\n' +
          '[{"jsonrpc":"2.0","method":"SayHello","id":9007199254740993}]',
      );
      assert.deepEqual(text.trimEnd().split("\n"), [
        '{"jsonrpc":"2.0","result":"Hello!","id":12345678901234567890}',
        '{"jsonrpc":"2.0","result":"Hello!","id":1e400}',
        '[{"jsonrpc":"2.0","result":"Hello!","id":9007199254740993}]',
      ]);
    });
    await t.step("names are exact in 2.0 and the first of two wins", async () => {
      const text = await exchange(
        daemon.port,
        '{"jsonrpc":"2.0","method":"SayHello","Id":5,"id":6}' +
          '{"jsonrpc":"2.0","method":"SayHello","id":7,"id":8}',
      );
      assert.deepEqual(text.trimEnd().split("\n"), [
        '{"jsonrpc":"2.0","result":"Hello!","id":6}',
        '{"jsonrpc":"2.0","result":"Hello!","id":7}',
      ]);
    });
    await t.step("a parse error after a 2.0 request is a 2.0 error with id null", async () => {
      const text = await exchange(
        daemon.port,
        '{"jsonrpc":"2.0","method":"SayHello","id":1}{"jsonrpc":"2.0","method" "x"}',
      );
      const lines = text.trimEnd().split("\n");
      assert.equal(lines.length, 2, text);
      assert.deepEqual(JSON.parse(lines[1]!), {
        jsonrpc: "2.0",
        error: { code: -32700, message: "Parse error. Invalid JSON was received by the server." },
        id: null,
      });
    });
    await t.step("a first request that breaks after saying 2.0 gets the 2.0 form", async () => {
      const text = await exchange(daemon.port, '{"jsonrpc":"2.0","method":"SayHello","id":}');
      assert.equal(JSON.parse(text).jsonrpc, "2.0", text);
      assert.equal(JSON.parse(text).id, null);
    });
    await t.step("a legacy parse error keeps the legacy layout and marker", async () => {
      const text = await exchange(daemon.port, '{"method":"SayHello"}garbage');
      assert.ok(text.endsWith('"data":\t"lepdendstring"\n\t}\n}\n'), text);
      assert.ok(!text.includes("jsonrpc"));
    });
  } finally {
    await daemon.stop();
  }
});
