/**
 * Reads the top level of a JSON text that `JSON.parse` has already accepted: the members of an
 * object in the order written, duplicates included, or the elements of an array, each with the
 * exact source text of its value.
 *
 * `JSON.parse` keeps the last of two equal member names and turns a number into a double, so it
 * cannot tell which `id` came first nor what `12345678901234567890` looked like. Request
 * validation needs both (docs/protocol.md 1.4, 1.5): the first member wins, and a JSON-RPC 2.0
 * id is echoed exactly as sent.
 *
 * @module
 */

/** One member of an object: its decoded name and the source text of its value. */
export interface Member {
  name: string;
  source: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function skipBlanks(text: string, index: number): number {
  while (index < text.length && isBlank(text.charCodeAt(index))) index++;
  return index;
}

/** Index just past the string that starts at `index` (an opening quote). */
function endOfString(text: string, index: number): number {
  for (let i = index + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === BACKSLASH) i++;
    else if (code === QUOTE) return i + 1;
  }
  return text.length;
}

/** Index just past the value that starts at `index`. */
function endOfValue(text: string, index: number): number {
  const first = text.charCodeAt(index);
  if (first === QUOTE) return endOfString(text, index);
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (let i = index; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === QUOTE) i = endOfString(text, i) - 1;
      else if (code === 0x7b || code === 0x5b) depth++;
      else if ((code === 0x7d || code === 0x5d) && --depth === 0) return i + 1;
    }
    return text.length;
  }
  let i = index;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (isBlank(code) || code === 0x2c || code === 0x7d || code === 0x5d) break;
    i++;
  }
  return i;
}

/**
 * The members of the object `text` spells, in source order, duplicates kept.
 *
 * @param text a JSON text already accepted by `JSON.parse` whose value is an object
 */
export function objectMembers(text: string): Member[] {
  const members: Member[] = [];
  let i = skipBlanks(text, 0) + 1; // past "{"
  while (true) {
    i = skipBlanks(text, i);
    if (i >= text.length || text.charCodeAt(i) !== QUOTE) return members; // "}" of an empty object
    const nameEnd = endOfString(text, i);
    const name = JSON.parse(text.slice(i, nameEnd)) as string;
    i = skipBlanks(text, nameEnd) + 1; // past ":"
    i = skipBlanks(text, i);
    const valueEnd = endOfValue(text, i);
    members.push({ name, source: text.slice(i, valueEnd) });
    i = skipBlanks(text, valueEnd);
    if (text.charCodeAt(i) !== 0x2c) return members; // "}"
    i++;
  }
}

/**
 * The source texts of the elements of the array `text` spells.
 *
 * @param text a JSON text already accepted by `JSON.parse` whose value is an array
 */
export function arrayElements(text: string): string[] {
  const elements: string[] = [];
  let i = skipBlanks(text, 0) + 1; // past "["
  while (true) {
    i = skipBlanks(text, i);
    if (i >= text.length || text.charCodeAt(i) === 0x5d) return elements;
    const end = endOfValue(text, i);
    elements.push(text.slice(i, end));
    i = skipBlanks(text, end);
    if (text.charCodeAt(i) !== 0x2c) return elements;
    i++;
  }
}
