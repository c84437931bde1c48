// Which checkout of podkit the running lab belongs to. There is one lab per machine, but
// the lab pods' secrets (passwords, the DKIM key: random, made by `up`) live beside the
// stacks of the checkout that brought it up, in stacks/lab-*.secrets.yaml. A second
// checkout on the same machine finds the lab up and needs those same values to apply
// the pods: its `up` copies them over, or says why it cannot and what to do, and its
// `apply` says the same instead of only naming each secret without a value.
import * as fs from "node:fs";
import * as path from "node:path";
import { secretsFileFor } from "../stack/secrets";
import { EDGE_POD, LAB_PODS, REPO_ROOT } from "./config";
import { LabError } from "./errors";
import type { LabState } from "./state";

/** A checkout of podkit and its lab pods' secrets files, as recorded in the lab state. */
export interface LabCheckout {
  /** Absolute path of the repository checkout. */
  root: string;
  /** Each lab pod's secrets file (absolute), by its stack as LAB_PODS names it ("stacks/lab-a.yaml"). */
  secretsFiles: Record<string, string>;
}

/**
 * The checkout at `root` (default: the one this podkit runs from); `edge`: the lab runs the
 * edge pod too (`lab up --edge`), whose secrets exist only then.
 */
export function labCheckout(root: string = REPO_ROOT, edge = false): LabCheckout {
  const pods = edge ? [...LAB_PODS, EDGE_POD] : LAB_PODS;
  return { root, secretsFiles: Object.fromEntries(pods.map((p) => [p.stack, secretsFileFor(path.join(root, p.stack))])) };
}

const TAKE_DOWN = "take it down and bring it up from here: `npx podkit lab down`, then `npm run lab`";

/**
 * For `up` on a lab that is already up: makes this checkout's lab secrets the running
 * lab's. The checkout that brought it up has nothing to do. Another one gets that
 * checkout's files copied (mode 0600) where its own are missing or differ, and one line
 * saying so. Throws a LabError saying what to do when the values cannot be had: the
 * files are gone, or an older podkit brought the lab up without recording where they are.
 */
export function adoptLabSecrets(state: LabState, here: LabCheckout, log: (line: string) => void): void {
  const stacks = Object.keys(here.secretsFiles);
  const missingHere = stacks.filter((s) => !fs.existsSync(here.secretsFiles[s]));
  const owner = state.checkout;
  if (!owner) {
    if (missingHere.length) throw new LabError(`the running lab was brought up by an older podkit, which did not record its checkout, and this checkout has no secrets for its pods (${missingHere.map((s) => here.secretsFiles[s]).join(", ")}): ${TAKE_DOWN}`);
    return;
  }
  if (sameDir(owner.root, here.root)) {
    if (missingHere.length) throw new LabError(`the running lab was brought up from this checkout, but its secrets files are gone (${missingHere.map((s) => here.secretsFiles[s]).join(", ")}), and the pods' passwords with them: ${TAKE_DOWN}`);
    return;
  }
  const theirs = (s: string) => owner.secretsFiles[s] ?? labCheckout(owner.root, true).secretsFiles[s];
  const gone = stacks.filter((s) => !fs.existsSync(theirs(s)));
  if (gone.some((s) => missingHere.includes(s))) {
    throw new LabError(`the running lab was brought up from another checkout, ${owner.root}, and its secrets files are gone (${gone.map(theirs).join(", ")}), so this checkout cannot have them: ${TAKE_DOWN}`);
  }
  const copied: string[] = [];
  const replaced: string[] = [];
  for (const s of stacks.filter((x) => !gone.includes(x))) {
    const value = fs.readFileSync(theirs(s));
    const mine = here.secretsFiles[s];
    const existing = fs.existsSync(mine) ? fs.readFileSync(mine) : undefined;
    if (existing?.equals(value)) continue;
    const tmp = `${mine}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, value, { mode: 0o600 });
    fs.chmodSync(tmp, 0o600); // whatever the umask
    fs.renameSync(tmp, mine);
    (existing ? replaced : copied).push(path.relative(here.root, mine));
  }
  const from = `the running lab was brought up from another checkout, ${owner.root}`;
  if (copied.length || replaced.length) {
    log(`lab: ${from}; copied its pods' secrets into this checkout (${[...copied, ...replaced.map((f) => `${f}, replacing this checkout's own`)].join(", ")})`);
  }
  if (gone.length) log(`lab: ${from}, whose ${gone.map(theirs).join(", ")} is gone: \`podkit apply\` from here sets the pods to this checkout's own secrets`);
}

/**
 * Why a lab pod's secrets file lacks values, when the running lab explains it: the advice
 * `podkit apply` gives instead of only "secret ... has no value". `secretsFile` is the file
 * the stack's secrets were read from. Undefined when the lab does not explain it (the lab is
 * down, the stack is not a lab pod's, or the file is this lab's own and a secret was added).
 */
export function labSecretsAdvice(state: LabState | null, stackFile: string, secretsFile: string): string | undefined {
  if (!state) return undefined;
  const abs = path.resolve(stackFile);
  const pod = [...LAB_PODS, EDGE_POD].find((p) => abs.endsWith(path.sep + p.stack) && secretsFileFor(abs) === path.resolve(secretsFile));
  if (!pod) return undefined;
  const here = abs.slice(0, abs.length - pod.stack.length - 1);
  const owner = state.checkout;
  if (!owner) return fs.existsSync(secretsFile) ? undefined : `the running lab was brought up by an older podkit, which did not record where its secrets are: ${TAKE_DOWN}`;
  if (sameDir(owner.root, here)) return fs.existsSync(secretsFile) ? undefined : `the running lab was brought up from this checkout, but ${secretsFile} is gone, and the pods' passwords with it: ${TAKE_DOWN}`;
  const theirs = owner.secretsFiles[pod.stack] ?? labCheckout(owner.root, true).secretsFiles[pod.stack];
  return fs.existsSync(theirs)
    ? `the running lab was brought up from another checkout, ${owner.root}, and its secrets are in ${theirs}: \`npx podkit lab up\` here copies them into this checkout (or run podkit from ${owner.root})`
    : `the running lab was brought up from another checkout, ${owner.root}, and its secrets files are gone: ${TAKE_DOWN}`;
}

function sameDir(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}
