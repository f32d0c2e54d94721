/**
 * The utmp file of glibc (`/run/utmp`): fixed-size records of sessions, whose count of user
 * sessions is the `users` figure of top and uptime. Not a kernel file, but read like one.
 *
 * A torn or empty file counts the whole records it has: never an error.
 *
 * @module
 */

/** Where glibc keeps the file, newest place first. */
export const UTMP_PATHS = ["/run/utmp", "/var/run/utmp"] as const;

/** Size of one utmp record in glibc on 64-bit Linux and on 32-bit ARM. */
const UTMP_RECORD_BYTES = 384;
/** `ut_type` of a logged-in user's session. */
const USER_PROCESS = 7;

/** Logged-in sessions in the utmp file, as `top` and `uptime` count users (0 when absent). */
export function countUserSessions(utmp: Uint8Array): number {
  const view = new DataView(utmp.buffer, utmp.byteOffset, utmp.byteLength);
  let sessions = 0;
  for (let offset = 0; offset + UTMP_RECORD_BYTES <= utmp.length; offset += UTMP_RECORD_BYTES) {
    if (view.getInt16(offset, true) === USER_PROCESS) sessions++;
  }
  return sessions;
}
