// One lab at a time: `up` and `down` hold LAB_DIR/lock (created exclusively, holding
// the holder's pid). A lock whose pid is dead is stale (a crashed run) and is taken over.
import * as fs from "node:fs";
import * as path from "node:path";
import { PATHS } from "./config";
import { LabBusyError } from "./errors";
import { isAlive } from "./proc";

export function acquireLabLock(): () => void {
  fs.mkdirSync(path.dirname(PATHS.lock), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(PATHS.lock, "wx", 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(PATHS.lock, "utf8").trim() === String(process.pid)) fs.rmSync(PATHS.lock);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(fs.readFileSync(PATHS.lock, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new LabBusyError(`another \`podkit lab\` command (pid ${holder}) is changing the lab; wait for it, or remove ${PATHS.lock} if that process is not podkit`);
      }
      fs.rmSync(PATHS.lock, { force: true }); // stale: its holder died
    }
  }
  throw new LabBusyError(`could not take ${PATHS.lock}`);
}
