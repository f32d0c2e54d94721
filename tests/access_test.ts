import assert from "node:assert/strict";
import { AccessList, parseAddress } from "../rpc/access.ts";

interface Case {
  entries: string[];
  allowed: string[];
  refused: string[];
}

const cases: Record<string, Case> = {
  "IPv4 /8 network": {
    entries: ["10.0.0.0/8"],
    allowed: ["10.0.0.0", "10.1.2.3", "10.255.255.255"],
    refused: ["11.0.0.0", "9.255.255.255", "192.168.1.1"],
  },
  "IPv4 /24 network given with host bits set": {
    entries: ["192.168.1.77/24"],
    allowed: ["192.168.1.1", "192.168.1.255"],
    refused: ["192.168.2.1", "192.168.0.255"],
  },
  "IPv4 prefix not on a byte boundary": {
    entries: ["172.16.0.0/12"],
    allowed: ["172.16.0.1", "172.31.255.255"],
    refused: ["172.32.0.0", "172.15.255.255"],
  },
  "single IPv4 address": {
    entries: ["127.0.0.1"],
    allowed: ["127.0.0.1"],
    refused: ["127.0.0.2", "127.0.1.1"],
  },
  "IPv4 /32": {
    entries: ["203.0.113.9/32"],
    allowed: ["203.0.113.9"],
    refused: ["203.0.113.8"],
  },
  "IPv4 /0 allows every IPv4 address but no IPv6 address": {
    entries: ["0.0.0.0/0"],
    allowed: ["1.2.3.4", "255.255.255.255", "0.0.0.0"],
    refused: ["::1", "2001:db8::1"],
  },
  "IPv6 loopback": {
    entries: ["::1"],
    allowed: ["::1", "0:0:0:0:0:0:0:1"],
    refused: ["::2", "127.0.0.1", "::"],
  },
  "IPv6 link-local /10": {
    entries: ["fe80::/10"],
    allowed: ["fe80::1", "FE80::abcd:1", "febf:ffff::1"],
    refused: ["fec0::1", "fe7f::1", "::1"],
  },
  "IPv6 /0 allows every IPv6 address": {
    entries: ["::/0"],
    allowed: ["::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    refused: ["10.0.0.1"],
  },
  "IPv4-mapped client address matched against an IPv4 network": {
    entries: ["127.0.0.0/8"],
    allowed: ["::ffff:127.0.0.1", "::ffff:127.9.9.9", "::ffff:7f00:1", "127.0.0.1"],
    refused: ["::ffff:128.0.0.1", "::127.0.0.1", "::1"],
  },
  "IPv4-mapped entry matches the plain IPv4 client": {
    entries: ["::ffff:192.0.2.1"],
    allowed: ["192.0.2.1", "::ffff:192.0.2.1"],
    refused: ["192.0.2.2"],
  },
  "several networks": {
    entries: ["10.0.0.0/8", " 192.168.0.0/16 ", "::1"],
    allowed: ["10.9.9.9", "192.168.4.4", "::1"],
    refused: ["172.16.0.1", "::2"],
  },
  "empty list allows everyone": {
    entries: [],
    allowed: ["1.2.3.4", "::1", "fe80::1", "255.255.255.255"],
    refused: [],
  },
  "client text that is no address is refused": {
    entries: ["0.0.0.0/0", "::/0"],
    allowed: ["8.8.8.8"],
    refused: ["", "localhost", "1.2.3", "1::2::3", "300.1.1.1"],
  },
};

for (const [name, testCase] of Object.entries(cases)) {
  Deno.test(`AccessList: ${name}`, () => {
    const list = AccessList.parse(testCase.entries);
    for (const address of testCase.allowed) {
      assert.equal(list.allows(address), true, `${address} should be allowed`);
    }
    for (const address of testCase.refused) {
      assert.equal(list.allows(address), false, `${address} should be refused`);
    }
  });
}

const invalidEntries = [
  "10.0.0.0/33",
  "300.1.1.1",
  "abc",
  "1::2::3",
  "10.0.0.0/",
  "10.0.0.0/8/8",
  "10.0.0.0/-1",
  "10.0.0.0/x",
  "1.2.3",
  "1.2.3.4.5",
  "::1/129",
  "1:2:3:4:5:6:7:8:9",
  "1::2:3:4:5:6:7:8",
  "gggg::1",
  "::ffff:300.1.1.1",
  "",
];

for (const entry of invalidEntries) {
  Deno.test(`AccessList.parse rejects ${JSON.stringify(entry)} with a TypeError quoting it`, () => {
    assert.throws(
      () => AccessList.parse(["127.0.0.1", entry]),
      (error: unknown) => {
        assert.ok(error instanceof TypeError, `got ${error}`);
        assert.ok(error.message.includes(`"${entry}"`), error.message);
        return true;
      },
    );
  });
}

Deno.test("parseAddress returns 4 or 16 bytes", () => {
  assert.deepEqual(parseAddress("192.0.2.1"), new Uint8Array([192, 0, 2, 1]));
  assert.deepEqual(
    parseAddress("2001:db8::ff00:42"),
    new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42]),
  );
  assert.deepEqual(
    parseAddress("::ffff:192.0.2.1"),
    new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]),
  );
  assert.deepEqual(parseAddress("::"), new Uint8Array(16));
  assert.deepEqual(
    parseAddress("1:2:3:4:5:6:7::"),
    new Uint8Array([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]),
  );
  assert.equal(parseAddress("1.2.3.256"), undefined);
  assert.equal(parseAddress(":::"), undefined);
});

Deno.test("AccessList: an IPv4-mapped IPv6 network is the IPv4 network it maps", () => {
  const list = AccessList.parse(["::ffff:10.0.0.0/104"]);
  assert.equal(list.allows("10.1.2.3"), true);
  assert.equal(list.allows("::ffff:10.9.9.9"), true);
  assert.equal(list.allows("11.0.0.1"), false);
});
