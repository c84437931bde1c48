// Workshop seats: `podkit lab up --seats N` adds hosts seat1..seatN to the lab, each with
// a pod seatK.test of its own. A seat's stack file is written from one template
// (templates/seat.yaml, a stack file as a person writes one) into stacks/seats/, where a
// participant finds it beside its secrets; it is written only when missing, so a
// participant's edits (an alias added in an exercise) survive the next `up`.
import * as fs from "node:fs";
import * as path from "node:path";
import { BACKUP_TARGET } from "./backup-target";
import { LAB, REPO_ROOT, SEATS, labHosts, seatHost, seatPod } from "./config";

const TEMPLATE = path.join(REPO_ROOT, "lib", "lab", "templates", "seat.yaml");

/** Seat K's stack file, as the lab writes it. */
export function seatStackText(k: number, template = fs.readFileSync(TEMPLATE, "utf8")): string {
  const host = seatHost(k);
  const backup = labHosts().find((h) => h.name === BACKUP_TARGET.host)!;
  const values: Record<string, string> = {
    seat: host.name,
    zone: seatPod(k).zone,
    address: host.address,
    gateway: LAB.gateway,
    backupAddress: backup.address,
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`${TEMPLATE}: unknown placeholder {{${name}}}`);
    return values[name];
  });
}

/**
 * Writes the stack files of seats 1..n that do not exist yet under `root` (the checkout);
 * returns every seat's stack path (absolute), written or kept.
 */
export function writeSeatStacks(n: number, root: string = REPO_ROOT, log: (line: string) => void = () => {}): string[] {
  const dir = path.join(root, SEATS.stackDir);
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const files = Array.from({ length: n }, (_, i) => {
    const file = path.join(root, seatPod(i + 1).stack);
    if (!fs.existsSync(file)) {
      fs.writeFileSync(file, seatStackText(i + 1));
      written.push(path.basename(file));
    }
    return file;
  });
  if (written.length) log(`lab: wrote ${written.join(", ")} in ${path.relative(process.cwd(), dir) || dir}; their passwords go to seatK.secrets.yaml beside them`);
  return files;
}

