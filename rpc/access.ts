/**
 * Client address filtering for `--allow-from`: a list of IPv4 and IPv6 networks in CIDR
 * notation. A connection from elsewhere is closed before a byte of it is read.
 *
 * @module
 */

/** One parsed network: address bytes and prefix length. */
interface Network {
  bytes: Uint8Array;
  prefix: number;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    bytes[index] = Number(part);
  }
  return bytes;
}

function parseIPv6(text: string): Uint8Array | undefined {
  let address = text;
  // An embedded IPv4 tail (::ffff:192.0.2.1) stands for the last two groups.
  const lastColon = address.lastIndexOf(":");
  if (address.includes(".", lastColon)) {
    const v4 = parseIPv4(address.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    const high = ((v4[0]! << 8) | v4[1]!).toString(16);
    const low = ((v4[2]! << 8) | v4[3]!).toString(16);
    address = `${address.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string | undefined): number[] | undefined => {
    if (half === undefined || half === "") return [];
    const groups: number[] = [];
    for (const group of half.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      groups.push(parseInt(group, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const rest = groupsOf(halves[1]);
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 or IPv6 address into 4 or 16 bytes; undefined when it is neither. */
export function parseAddress(text: string): Uint8Array | undefined {
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

/** IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are compared as the IPv4 address they carry. */
function unmapped(bytes: Uint8Array): Uint8Array {
  const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((byte) => byte === 0) &&
    bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.subarray(12) : bytes;
}

function contains(network: Network, address: Uint8Array): boolean {
  if (network.bytes.length !== address.length) return false;
  for (let bit = 0; bit < network.prefix; bit += 8) {
    const remaining = Math.min(8, network.prefix - bit);
    const mask = (0xff << (8 - remaining)) & 0xff;
    const index = bit / 8;
    if ((network.bytes[index]! & mask) !== (address[index]! & mask)) return false;
  }
  return true;
}

/** Decides which client addresses may connect. */
export class AccessList {
  readonly #networks: Network[];

  private constructor(networks: Network[]) {
    this.#networks = networks;
  }

  /**
   * Parses a list such as `["127.0.0.1/32", "10.0.0.0/8", "::1"]`; an entry without a prefix
   * is a single address.
   *
   * @throws {TypeError} naming the first entry that is not an address or network
   */
  static parse(entries: readonly string[]): AccessList {
    const networks = entries.map((entry) => {
      const [addressText = "", prefixText, extra] = entry.trim().split("/");
      const parsed = parseAddress(addressText);
      const maxPrefix = (parsed?.length ?? 0) * 8;
      const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
      if (
        parsed === undefined || extra !== undefined ||
        (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) || prefix > maxPrefix
      ) {
        throw new TypeError(
          `Invalid network "${entry}": expected an address or CIDR like 10.0.0.0/8`,
        );
      }
      // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8, which is how clients are compared.
      const bytes = unmapped(parsed);
      return { bytes, prefix: Math.max(0, prefix - (parsed.length - bytes.length) * 8) };
    });
    return new AccessList(networks);
  }

  /** True when the list is empty (everyone allowed) or a network contains `address`. */
  allows(address: string): boolean {
    if (this.#networks.length === 0) return true;
    const parsed = parseAddress(address);
    if (parsed === undefined) return false;
    const bytes = unmapped(parsed);
    return this.#networks.some((network) => contains(network, bytes));
  }
}
