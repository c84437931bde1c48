// Every program podkit's CLI, lab, scripts and tests run on the admin machine is
// installed by scripts/setup.sh, or comes with every Debian system. A new user's
// first `npm test` runs setup.sh and then all of those programs; a program only the
// CI machine happened to have (restic, issue 18) fails here, in seconds, by name.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { test } from "node:test";
import { scanRepository, shellCommands, type ProgramUse } from "./admin-programs";

const ROOT = resolve(__dirname, "..", "..");
const SETUP = join(ROOT, "scripts", "setup.sh");

/**
 * Not from Debian, so not setup.sh's to install: Node.js 20 and its npm and npx come from
 * nodesource or a tarball (Debian 12 ships Node.js 18; see the README), and whatever
 * `npm ci` puts in node_modules/.bin (tsx, esbuild, tsc) comes from package-lock.json.
 */
const NOT_FROM_DEBIAN = new Set(["node", "npm", "npx"]);
const fromNpm = (program: string) => existsSync(join(ROOT, "node_modules", ".bin", program));

/**
 * The Debian package of a program not installed on this machine, where the names differ
 * (checked with `dpkg -S` on Debian 12). Otherwise the package is taken to be the program's name.
 */
const PACKAGE_OF: Record<string, string> = {
  ssh: "openssh-client", "ssh-keygen": "openssh-client", openssl: "openssl", ip: "iproute2", nft: "nftables",
  knotc: "knot", knotd: "knot", "unbound-checkconf": "unbound", "unbound-control": "unbound",
  "systemd-nspawn": "systemd-container", kzonecheck: "knot-dnssecutils", "named-checkzone": "bind9-utils",
  "named-compilezone": "bind9-utils", unshare: "util-linux", mount: "mount", umount: "mount",
};

/** The packages setup.sh installs: every `NAME_PACKAGES=(...)` array, each of which must be installed by it. */
export function setupPackages(setupFile: string): { packages: Set<string>; problems: string[] } {
  const text = readFileSync(setupFile, "utf8");
  const packages = new Set<string>();
  const problems: string[] = [];
  for (const m of text.matchAll(/^(\w+_PACKAGES)=\(([^)]*)\)/gm)) {
    for (const p of m[2].replace(/#.*$/gm, "").split(/\s+/).filter(Boolean)) packages.add(p);
    if (!text.includes(`"\${${m[1]}[@]}"`)) problems.push(`${setupFile}: ${m[1]} is declared but never installed ("\${${m[1]}[@]}" appears nowhere)`);
  }
  if (!packages.size) problems.push(`${setupFile}: no NAME_PACKAGES=(...) list found`);
  return { packages, problems };
}

/** Where a program is on this machine: PATH first, then the sbin directories a non-root PATH lacks. */
function locate(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const d of dirs.filter(Boolean)) {
    const p = join(d, program);
    try {
      if (statSync(p).isFile() && (statSync(p).mode & 0o111)) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * The Debian package owning each path, from one `dpkg -S`. With /usr merged, dpkg knows a
 * file by the path its package ships (/bin/bash, /sbin/ip), which may not be where PATH
 * finds it (/usr/bin/bash, /usr/sbin/ip -> /usr/bin/ip): every spelling is asked.
 */
function owners(paths: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!paths.length) return out;
  const r = spawnSync("dpkg", ["-S", ...paths], { encoding: "utf8" });
  for (const line of r.stdout.split("\n")) {
    const m = /^(.+?): (\/.*)$/.exec(line);
    if (m && !m[1].startsWith("diversion by")) out.set(m[2], m[1].split(", ")[0].split(":")[0]);
  }
  return out;
}

function spellings(found: string): string[] {
  const name = found.slice(found.lastIndexOf("/") + 1);
  const real = realpathSync(found);
  const toggled = (p: string) => (p.startsWith("/usr/") ? p.slice(4) : `/usr${p}`);
  return [...new Set([found, toggled(found), real, toggled(real), ...["/bin", "/sbin", "/usr/bin", "/usr/sbin"].map((d) => `${d}/${name}`)])];
}

/** Required, important or Essential: on every Debian system, setup.sh or not. */
function baseSystem(packages: string[]): Set<string> {
  if (!packages.length) return new Set();
  const r = spawnSync("dpkg-query", ["-W", "-f=${Package}\t${Priority}\t${Essential}\n", ...packages], { encoding: "utf8" });
  return new Set(r.stdout.split("\n").map((l) => l.split("\t")).filter(([, prio, ess]) => prio === "required" || prio === "important" || ess === "yes").map(([p]) => p));
}

/** One message per program that setup.sh does not provide: the program, where it is run, the package to add. */
export function programsSetupMisses(uses: ProgramUse[], setupFile: string): string[] {
  const { packages, problems } = setupPackages(setupFile);
  const setup = relative(ROOT, setupFile).startsWith("..") ? setupFile : relative(ROOT, setupFile);
  const byProgram = new Map<string, ProgramUse[]>();
  for (const u of uses) if (!NOT_FROM_DEBIAN.has(u.program) && !fromNpm(u.program)) byProgram.set(u.program, [...(byProgram.get(u.program) ?? []), u]);
  const located = new Map([...byProgram.keys()].map((p) => [p, locate(p)]));
  const owner = owners([...located.values()].flatMap((p) => (p ? spellings(p) : [])));
  const packageOf = new Map([...located].map(([program, p]) => [program, p ? spellings(p).map((s) => owner.get(s)).find(Boolean) : undefined]));
  const base = baseSystem([...new Set([...packageOf.values()].filter((p): p is string => !!p))]);

  for (const [program, where] of [...byProgram].sort()) {
    const runBy = `${where[0].file}:${where[0].line}${where.length > 1 ? ` and ${where.length - 1} more` : ""}`;
    const pkg = packageOf.get(program);
    if (pkg) {
      if (packages.has(pkg) || base.has(pkg)) continue;
      problems.push(`${program} (run by ${runBy}) comes from Debian package ${pkg}, which ${setup} does not install and Debian's base system lacks: add ${pkg} to a package list in ${setup}`);
      continue;
    }
    // Not installed here (or not from a package): setup.sh must be what installs it.
    const guess = PACKAGE_OF[program] ?? program;
    if (packages.has(guess)) continue;
    const at = located.get(program);
    problems.push(`${program} (run by ${runBy}) is ${at ? `at ${at}, from no Debian package,` : "not installed on this machine"} and ${setup} does not install it: add ${PACKAGE_OF[program] ? guess : `its Debian package (probably ${guess})`} to a package list in ${setup}`);
  }
  return problems;
}

const scan = scanRepository(ROOT);

test("every program run on the admin machine is found in the sources: none hides behind a computed name", () => {
  assert.deepEqual(scan.problems, []);
  const found = new Set(scan.uses.map((u) => u.program));
  // One of each way podkit runs a program, so a scanner that stops seeing one fails here.
  for (const p of ["restic", "knotd", "knotc", "kzonecheck", "systemd-nspawn", "unshare", "dirname", "apt-get"]) assert.ok(found.has(p), `the scan no longer finds ${p}`);
});

test("the shell reader finds the program after every separator, in substitutions, trap and bash -c", () => {
  const script = `#!/bin/sh
set -e # a comment: not-a-program
x=$(first a | second) && exec third; list=(not a program)
trap 'fourth >/dev/null 2>&1 || true' EXIT
if [ -n "$(fifth "$x")" ]; then sixth 2>&1 | seventh & fi
bash -c "eighth --flag"; ((n++)); FOO=1 ninth \
  not-this
`;
  assert.deepEqual(shellCommands(script).map((w) => w.word).sort(), ["bash", "eighth", "fifth", "first", "fourth", "ninth", "second", "seventh", "sixth", "third"]);
});

test("scripts/setup.sh installs the package of every program run on the admin machine", () => {
  const problems = programsSetupMisses(scan.uses, SETUP);
  assert.deepEqual(problems, [], problems.join("\n"));
});

/** A copy of setup.sh with `pkg` taken out of its package lists. */
function setupWithout(pkg: string): string {
  const copy = join(mkdtempSync(join(tmpdir(), "podkit-setup-")), "setup.sh");
  writeFileSync(copy, readFileSync(SETUP, "utf8").replace(/^(\w+_PACKAGES=\()([^)]*)\)/gm, (_, head: string, list: string) => `${head}${list.replace(new RegExp(`(^|\\s)${pkg}(?=\\s|$)`, "g"), "$1")})`));
  assert.ok(!setupPackages(copy).packages.has(pkg), `the copy still installs ${pkg}`);
  return copy;
}

test("a setup.sh without restic fails, naming restic, where it is run and the package to add", () => {
  const problems = programsSetupMisses(scan.uses, setupWithout("restic"));
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0], /^restic \(run by lib\/cli\/commands\/backup\.ts:\d+\) .*: add (its Debian package \(probably )?restic\b/);
});

test("a setup.sh without knot fails for knotc and knotd, whose package is not named after them", () => {
  const problems = programsSetupMisses(scan.uses, setupWithout("knot"));
  assert.deepEqual(problems.map((p) => p.split(" ")[0]), ["knotc", "knotd"], problems.join("\n"));
  for (const p of problems) assert.match(p, /: add knot to a package list in /);
});
