/**
 * `/etc/passwd`: user names by uid, for the USER columns of the process tables.
 *
 * Never throws: a root without user names (a container, a fixture tree) shows uids instead.
 *
 * @module
 */

/** Maps uids to names from the text of `/etc/passwd` (first name of a uid wins). */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [name, , uidText] = line.split(":");
    if (name === undefined || name === "" || uidText === undefined || !/^\d+$/.test(uidText)) {
      continue;
    }
    const uid = Number(uidText);
    if (!names.has(uid)) names.set(uid, name);
  }
  return names;
}
