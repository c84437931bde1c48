// Exit codes, after sysexits(3), so scripts can tell a bad stack file from a dead host.
export const EXIT = {
  OK: 0,
  /** A check ran and found problems (validate, diff with changes under --exit-code). */
  FAILED: 1,
  USAGE: 64,
  /** The stack file (or a secrets file) is invalid. */
  DATAERR: 65,
  /** A host, the lab or a service could not be reached. */
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  /** The host is held by another podkit run (apply, backup, restore): try again later. */
  TEMPFAIL: 75,
} as const;

/** Thrown for wrong command-line usage; main prints it and exits 64. */
export class UsageError extends Error {}
