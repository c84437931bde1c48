// Errors meant for the user: the CLI prints their message alone (no stack trace) and exits 69.

/** A refusal or failure of the lab with a message that says what to do. */
export class LabError extends Error {
  override name = "LabError";
}

/** Another `podkit lab` command holds the lab lock. */
export class LabBusyError extends LabError {
  override name = "LabBusyError";
}
