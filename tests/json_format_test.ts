/**
 * `params: {"format":"json"}` (docs/protocol.md 1.10): every method's JSON result validates
 * against the schema `DescribeMethods` reports for it; the legacy dialect ignores params and
 * keeps its bytes; a bad format is -32602; `ListAllMethod`'s text does not name the describe call.
 */
import assert from "node:assert/strict";
import { encodeReply } from "../rpc/encoder.ts";
import { validateRequest } from "../rpc/request.ts";
import type { Schema } from "../methods/collector.ts";
import { Client, legacyText, startDaemon } from "./helpers/daemon.ts";

const decoder = new TextDecoder();

/** The places where `value` does not match `schema`, as `path: problem` lines (none: valid). */
export function schemaErrors(value: unknown, schema: Schema, path = "$"): string[] {
  switch (schema.type) {
    case "any":
      return [];
    case "string":
      return typeof value === "string" ? [] : [`${path}: not a string`];
    case "integer":
    case "number": {
      if (value === null && "nullable" in schema && schema.nullable === true) return [];
      if (typeof value !== "number" || !Number.isFinite(value)) return [`${path}: not a number`];
      return schema.type === "integer" && !Number.isInteger(value)
        ? [`${path}: not an integer`]
        : [];
    }
    case "array":
      return Array.isArray(value)
        ? value.flatMap((item, index) => schemaErrors(item, schema.items, `${path}[${index}]`))
        : [`${path}: not an array`];
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return [`${path}: not an object`];
      }
      const record = value as Record<string, unknown>;
      const errors: string[] = [];
      for (const [name, field] of Object.entries(schema.fields)) {
        if (!(name in record)) errors.push(`${path}.${name}: missing`);
        else errors.push(...schemaErrors(record[name], field, `${path}.${name}`));
      }
      for (const [name, member] of Object.entries(record)) {
        if (name in schema.fields) continue;
        if (schema.other === undefined) errors.push(`${path}.${name}: not in the schema`);
        else errors.push(...schemaErrors(member, schema.other, `${path}.${name}`));
      }
      return errors;
    }
  }
}

/** A schema's own shape: every node has a known type, and objects and arrays their parts. */
function isSchema(value: unknown): value is Schema {
  if (typeof value !== "object" || value === null) return false;
  const node = value as Record<string, unknown>;
  switch (node.type) {
    case "any":
    case "string":
      return true;
    case "integer":
    case "number":
      return node.unit === undefined || typeof node.unit === "string";
    case "array":
      return isSchema(node.items);
    case "object":
      return typeof node.fields === "object" && node.fields !== null &&
        Object.values(node.fields).every(isSchema) &&
        (node.other === undefined || isSchema(node.other));
    default:
      return false;
  }
}

Deno.test("schemaErrors: the validator accepts what matches and names what does not", () => {
  const schema: Schema = {
    type: "object",
    fields: {
      cpus: { type: "array", items: { type: "object", fields: { n: { type: "integer" } } } },
    },
  };
  assert.deepEqual(schemaErrors({ cpus: [{ n: 1 }] }, schema), []);
  assert.deepEqual(schemaErrors({ cpus: [{ n: 1.5 }], x: 1 }, schema), [
    "$.cpus[0].n: not an integer",
    "$.x: not in the schema",
  ]);
  assert.deepEqual(schemaErrors({}, schema), ["$.cpus: missing"]);
});

Deno.test("request validation: params.format in JSON-RPC 2.0 only; anything else is -32602", () => {
  const validate = (source: string) =>
    validateRequest(JSON.parse(source), { hasMethod: () => true, source });
  const json = validate('{"jsonrpc":"2.0","method":"SayHello","params":{"format":"json"},"id":1}');
  assert.ok(json.ok && json.call.format === "json");
  const text = validate('{"jsonrpc":"2.0","method":"SayHello","params":{"format":"text","x":1}}');
  assert.ok(text.ok && text.call.format === undefined);
  const legacy = validate('{"method":"SayHello","params":{"format":"json"}}');
  assert.ok(legacy.ok && legacy.call.format === undefined);
  const legacyBad = validate('{"method":"SayHello","params":{"format":7}}');
  assert.ok(legacyBad.ok && legacyBad.call.format === undefined);
  for (const bad of ['"xml"', "1", "null", '"JSON"', "{}"]) {
    const result = validate(
      `{"jsonrpc":"2.0","method":"SayHello","params":{"format":${bad}},"id":2}`,
    );
    assert.ok(!result.ok, bad);
    assert.equal(result.rejection.code, -32602);
    assert.equal(result.rejection.id, 2);
  }
  // The first of two members wins, as everywhere in a request.
  const first = validate(
    '{"jsonrpc":"2.0","method":"SayHello","params":{"format":"json","format":"x"}}',
  );
  assert.ok(first.ok && first.call.format === "json");
});

Deno.test("encoder: a JSON result is a JSON value in the 2.0 reply", () => {
  const bytes = encodeReply({
    dialect: "2.0",
    outcome: { result: '{"a":[1,"lepdendstring"]}', json: true },
    id: 1,
  });
  assert.equal(
    decoder.decode(bytes),
    '{"jsonrpc":"2.0","result":{"a":[1,"lepdendstring"]},"id":1}\n',
  );
});

Deno.test("daemon: format json for every method validates against DescribeMethods", async (t) => {
  const daemon = await startDaemon();
  const client = await Client.connect(daemon.port);
  try {
    const described = await client.request({
      jsonrpc: "2.0",
      method: "DescribeMethods",
      params: { format: "json" },
      id: 0,
    });
    const table = (described.result as { methods: Record<string, unknown> }).methods;
    const listed = legacyText(await client.request({ method: "ListAllMethod" }))
      .trim().split(" ");

    await t.step(
      "ListAllMethod's text does not name DescribeMethods; it describes them all",
      () => {
        assert.ok(!listed.includes("DescribeMethods"));
        assert.deepEqual(Object.keys(table).sort(), [...listed, "DescribeMethods"].sort());
        for (const [method, schema] of Object.entries(table)) assert.ok(isSchema(schema), method);
      },
    );

    const failed: string[] = [];
    for (const method of Object.keys(table)) {
      await t.step(`${method}: its JSON result matches its schema`, async () => {
        const reply = await client.request({
          jsonrpc: "2.0",
          method,
          params: { format: "json" },
          id: method,
        });
        assert.equal(reply.id, method);
        if ("error" in reply) {
          // A method this machine cannot serve (perf absent, no permission) fails in both forms.
          const error = reply.error as { code: number; message: string };
          assert.equal(error.code, -32000, JSON.stringify(reply));
          failed.push(`${method}: ${error.message}`);
          return;
        }
        assert.deepEqual(schemaErrors(reply.result, table[method] as Schema), [], method);
      });
    }
    await t.step("the core methods answer on any Linux", () => {
      const core = ["SayHello", "GetProcMeminfo", "GetProcLoadavg", "GetCmdMpstat", "GetCmdFree"];
      assert.deepEqual(failed.filter((line) => core.some((m) => line.startsWith(`${m}:`))), []);
    });

    await t.step("GetCmdMpstat: an `all` row with percentages", async () => {
      const reply = await client.request({
        jsonrpc: "2.0",
        method: "GetCmdMpstat",
        params: { format: "json" },
        id: 1,
      });
      const cpus = (reply.result as { cpus: { cpu: string; idle_pct: number }[] }).cpus;
      const all = cpus.find((row) => row.cpu === "all");
      assert.ok(all !== undefined && all.idle_pct >= 0 && all.idle_pct <= 100);
    });

    await t.step("legacy requests ignore params: the same bytes", async () => {
      const plain = await client.request({ method: "GetProcVersion" });
      const withParams = await client.request({
        method: "GetProcVersion",
        params: { format: "json" },
      });
      assert.deepEqual(withParams, plain);
      assert.equal(typeof withParams.result, "string");
    });

    await t.step("format text (or none) keeps the 2.0 string result", async () => {
      const text = await client.request({
        jsonrpc: "2.0",
        method: "SayHello",
        params: { format: "text" },
        id: 3,
      });
      assert.deepEqual(text, { jsonrpc: "2.0", result: "Hello!", id: 3 });
      const json = await client.request({
        jsonrpc: "2.0",
        method: "SayHello",
        params: { format: "json" },
        id: 4,
      });
      assert.deepEqual(json, { jsonrpc: "2.0", result: { text: "Hello!" }, id: 4 });
    });

    await t.step("a bad format is -32602 and the connection stays open", async () => {
      const reply = await client.request({
        jsonrpc: "2.0",
        method: "GetProcLoadavg",
        params: { format: "yaml" },
        id: 5,
      });
      assert.deepEqual(reply, {
        jsonrpc: "2.0",
        error: { code: -32602, message: 'Invalid params: "format" must be "text" or "json".' },
        id: 5,
      });
      const after = await client.request({ jsonrpc: "2.0", method: "SayHello", id: 6 });
      assert.equal(after.result, "Hello!");
    });
  } finally {
    client.close();
    await daemon.stop();
  }
});

/** Captured machines of other shapes: ARM, cgroup v1, odd and synthetic /proc files. */
const FIXTURES = [
  "aarch64-server-8cpu",
  "armv7-bcm2835",
  "cgroup-v1",
  "disks-mixed",
  "synthetic-odd",
  "synthetic-processes",
  "x86_64-vm",
];

for (const fixture of FIXTURES) {
  Deno.test(`fixture ${fixture}: every JSON result matches its schema, and fails only where the text fails`, async () => {
    const root = new URL(`./fixtures/${fixture}/`, import.meta.url).pathname;
    const daemon = await startDaemon(["--root", root]);
    const client = await Client.connect(daemon.port);
    try {
      const described = await client.request({ jsonrpc: "2.0", method: "DescribeMethods", id: 0 });
      const table = (JSON.parse(described.result as string) as { methods: Record<string, Schema> })
        .methods;
      for (const [method, schema] of Object.entries(table)) {
        // Perf methods are off under --root; each answers its -32000 in both formats.
        const text = await client.request({ jsonrpc: "2.0", method, id: 1 });
        const json = await client.request({
          jsonrpc: "2.0",
          method,
          params: { format: "json" },
          id: 2,
        });
        // A /proc file is served as text whatever it holds; its JSON needs it parsed, and a
        // file its parser refuses is a -32000 that says so.
        const refused = "error" in json && "result" in text && method.startsWith("GetProc") &&
          (json.error as { message: string }).message.startsWith("Cannot parse");
        if (!refused) {
          assert.equal("error" in json, "error" in text, `${method}: ${JSON.stringify(json)}`);
        }
        if ("result" in json) assert.deepEqual(schemaErrors(json.result, schema), [], method);
      }
    } finally {
      client.close();
      await daemon.stop();
    }
  });
}
