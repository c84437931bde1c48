// Finds every program podkit runs on the admin machine (the one with this checkout),
// from its sources rather than from a list kept by hand: child_process calls, zx `$`
// templates, the local helpers that wrap either (found by following parameters), the
// `bash -c` scripts they are given, and the shell scripts and npm scripts themselves.
// Commands sent to pod or lab hosts (Session.run, onHost, roles) are strings handed to
// SSH, never one of these calls, so they are not found here — as they should not be.
// TypeScript's own parser reads the sources: no regex guesses at call boundaries.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** One place a program is run: program name, file (relative to the repository) and line. */
export interface ProgramUse {
  program: string;
  file: string;
  line: number;
}

/**
 * Call sites whose program cannot be read from the source (computed argv, a command line
 * built in code), with the programs a reader checked they can run. `file` and `code` (part
 * of the call's program expression) find the site; an entry that finds none fails the scan.
 */
export const REVIEWED_DYNAMIC: readonly { file: string; code: string; programs: string[]; why: string }[] = [
  { file: "test/unit/cli-validate.test.ts", code: "cmd[0]", programs: ["unshare", "node"], why: "runs the CLI under `unshare --net` when it can, else node directly" },
  { file: "lib/lab/host.ts", code: "nspawn.map(", programs: ["systemd-nspawn"], why: "the boot loop runs the nspawn command line built above it" },
  { file: "test/unit/a-restore-takes-only-a-named-snapshot-of-the-pods-own-backups.test.ts", code: 'root ? "chroot" : "sh"', programs: ["chroot", "sh"], why: "runs the backup script's rsync line with sh, in the checker root (chroot) when this machine has no rsync of its own" },
  { file: "lib/checker/run.ts", code: "argv[0]", programs: ["debootstrap", "unshare", "chroot", "mount", "sh"], why: "the checker root's runner: debootstrap builds the tree; unshare, mount and chroot enter it (lib/checker/root.ts, host-root.ts)" },
  { file: "test/unit/a-reload-is-checked-the-way-clients-use-the-service.test.ts", code: "source ${PROBES_SH}", programs: ["bash", "openssl", "timeout", "od", "head", "tail", "grep", "cut", "tr"], why: "runs one of the host probes' functions (lib/converge/probes.sh) against a fake server here" },
  { file: "test/unit/one-run-changes-a-host-at-a-time-and-a-second-one-waits-naming-the-first.test.ts", code: "command", programs: ["bash", "install", "flock", "cat", "mv", "rm"], why: "runs the host lock's command (lib/converge/host-lock.ts) as a local process in place of an SSH channel" },
];

/**
 * Shell scripts under lib/ that are sent to pod hosts over SSH (like Session.run's
 * strings), never run on the admin machine: their programs are the hosts' business.
 */
const HOST_SIDE_SCRIPTS = new Set(["lib/converge/probes.sh"]);

const CHILD_PROCESS = new Set(["spawn", "spawnSync", "execFile", "execFileSync", "exec", "execSync"]);
/** These take one shell command line rather than a program and its arguments. */
const SHELL_LINE = new Set(["exec", "execSync"]);

/** Shell words at command position that are not programs: keywords and bash builtins. */
const SHELL_BUILTINS = new Set([
  "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "case", "esac", "in", "function", "!", "{", "}",
  ":", ".", "source", "set", "shopt", "cd", "export", "local", "declare", "readonly", "unset", "shift", "return", "exit",
  "echo", "printf", "read", "test", "[", "[[", "true", "false", "trap", "wait", "kill", "eval", "break", "continue", "type",
]);
/** Words that run the command after them (`exec npm test`, `time make`). */
const SHELL_PREFIXES = new Set(["exec", "command", "time", "nohup"]);

export function scanRepository(root: string): { uses: ProgramUse[]; problems: string[] } {
  const uses: ProgramUse[] = [];
  const problems: string[] = [];
  const files = ["lib", "bin", "scripts", "test"].flatMap((d) => walk(join(root, d))).concat(join(root, "index.ts"), join(root, ".ci", "run"));
  for (const f of files.filter((f) => f.endsWith(".sh") || f.endsWith(join(".ci", "run")))) {
    const rel = relative(root, f);
    if (HOST_SIDE_SCRIPTS.has(rel)) continue;
    for (const w of shellCommands(readFileSync(f, "utf8"))) {
      if (w.word.includes("$")) problems.push(`${rel}:${w.line}: cannot tell which program \`${w.word}\` runs`);
      else uses.push({ program: w.word, file: rel, line: w.line });
    }
  }
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
  for (const [name, line] of Object.entries(pkg.scripts)) {
    for (const w of shellCommands(line)) uses.push({ program: w.word, file: `package.json (scripts.${name})`, line: 1 });
  }

  const sources = files.filter((f) => /\.(ts|js)$/.test(f) && existsSync(f)).map((f) => ({ file: f, rel: relative(root, f), ast: parse(f) }));
  // Wrappers: functions that hand one of their parameters to a child_process call (or to
  // another wrapper) as the program; by file, then name -> parameter index. Found until none is new.
  const wrappers = new Map<string, Map<string, number>>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const { file, ast } of sources) {
      for (const site of runSites(ast, visibleWrappers(file, ast, wrappers))) {
        const found = site.program && programOf(site.program, ast);
        if (found?.kind !== "param") continue;
        const mine = wrappers.get(file) ?? new Map<string, number>();
        if (mine.get(found.fn) === found.index) continue;
        wrappers.set(file, mine.set(found.fn, found.index));
        changed = true;
      }
    }
  }

  const reviewed = new Set<number>();
  for (const { file, rel, ast } of sources) {
    for (const site of runSites(ast, visibleWrappers(file, ast, wrappers))) {
      const line = ast.getLineAndCharacterOfPosition(site.node.getStart(ast)).line + 1;
      const found = site.program ? programOf(site.program, ast) : undefined;
      if (found?.kind === "param" || found?.kind === "node") continue;
      const programs: string[] = [];
      const dynamic: string[] = [];
      if (found?.kind === "dynamic") dynamic.push(found.code);
      if (found?.kind === "program") programs.push(...(site.shellLine ? shellCommands(found.name).map((w) => w.word) : [found.name]));
      // A shell given a script (`bash -c SCRIPT`, a zx template): the programs in the script.
      const script = site.zx ?? (found?.kind === "program" && ["bash", "sh"].includes(found.name) && site.args ? shellScriptOf(site.args, ast) : undefined);
      if (script) {
        const words = script.text === undefined ? [PLACEHOLDER] : shellCommands(script.text).map((w) => w.word);
        programs.push(...words.filter((w) => !w.includes(PLACEHOLDER)));
        if (words.some((w) => w.includes(PLACEHOLDER))) dynamic.push(script.code);
      }
      for (const program of programs) uses.push({ program, file: rel, line });
      for (const code of dynamic) {
        const i = REVIEWED_DYNAMIC.findIndex((r) => r.file === rel && code.includes(r.code));
        if (i < 0) {
          problems.push(`${rel}:${line}: cannot tell which program \`${code.replace(/\s+/g, " ")}\` runs: make it a string literal, or add the call to REVIEWED_DYNAMIC in test/unit/admin-programs.ts with the programs it runs`);
          continue;
        }
        reviewed.add(i);
        for (const program of REVIEWED_DYNAMIC[i].programs) uses.push({ program, file: rel, line });
      }
    }
  }
  REVIEWED_DYNAMIC.forEach((r, i) => {
    if (!reviewed.has(i)) problems.push(`REVIEWED_DYNAMIC names ${r.file} (\`${r.code}\`), which no longer runs such a call: remove the entry`);
  });
  return { uses, problems };
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name === "fixtures") return [];
    return e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)];
  });
}

function parse(file: string): ts.SourceFile {
  const kind = file.endsWith(".js") ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true, kind);
}

interface RunSite {
  node: ts.Node;
  /** The expression naming the program (none for a zx template: its text names it). */
  program?: ts.Expression;
  /** The argument after it (argv), when there is one. */
  args?: ts.Expression;
  /** The call takes a shell command line (exec, execSync). */
  shellLine?: boolean;
  /** A zx template: its text, interpolations replaced by PLACEHOLDER (zx quotes each as one word), and its source. */
  zx?: Script;
}

/** A shell script found in the source: its text (undefined when it is computed) and its source code. */
interface Script {
  text?: string;
  code: string;
}

const PLACEHOLDER = "\u0000arg\u0000";

/** Every call in `ast` that runs a program on this machine. */
function runSites(ast: ts.SourceFile, wrappers: Map<string, number>): RunSite[] {
  const names = childProcessNames(ast);
  const zxNames = new Set<string>();
  for (const s of ast.statements) {
    if (!ts.isImportDeclaration(s) || !s.importClause?.namedBindings || !ts.isNamedImports(s.importClause.namedBindings)) continue;
    for (const e of s.importClause.namedBindings.elements) if ((e.propertyName ?? e.name).text === "$") zxNames.add(e.name.text);
  }
  const sites: RunSite[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const fn = ts.isIdentifier(callee) ? names.direct.get(callee.text)
        : ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && names.namespaces.has(callee.expression.text) ? callee.name.text : undefined;
      if (fn && CHILD_PROCESS.has(fn) && node.arguments[0]) {
        sites.push({ node, program: node.arguments[0], args: node.arguments[1], shellLine: SHELL_LINE.has(fn) });
      } else if (ts.isIdentifier(callee) && wrappers.has(callee.text)) {
        const i = wrappers.get(callee.text)!;
        if (node.arguments[i]) sites.push({ node, program: node.arguments[i], args: node.arguments[i + 1] });
      }
    }
    if (ts.isTaggedTemplateExpression(node)) {
      const tag = ts.isCallExpression(node.tag) ? node.tag.expression : node.tag;
      if (ts.isIdentifier(tag) && zxNames.has(tag.text)) sites.push({ node, zx: { text: templateText(node.template), code: node.getText(ast) } });
    }
    ts.forEachChild(node, visit);
  };
  visit(ast);
  return sites;
}

/** Names child_process functions go by in this file: named imports, `import * as cp`, destructured require. */
function childProcessNames(ast: ts.SourceFile): { direct: Map<string, string>; namespaces: Set<string> } {
  const direct = new Map<string, string>();
  const namespaces = new Set<string>();
  const isChildProcess = (spec: string) => spec === "child_process" || spec === "node:child_process";
  for (const s of ast.statements) {
    if (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && isChildProcess(s.moduleSpecifier.text)) {
      const b = s.importClause?.namedBindings;
      if (b && ts.isNamedImports(b)) for (const e of b.elements) direct.set(e.name.text, (e.propertyName ?? e.name).text);
      if (b && ts.isNamespaceImport(b)) namespaces.add(b.name.text);
      if (s.importClause?.name) namespaces.add(s.importClause.name.text);
    }
    if (ts.isVariableStatement(s)) {
      for (const d of s.declarationList.declarations) {
        const init = d.initializer;
        if (!init || !ts.isCallExpression(init) || !ts.isIdentifier(init.expression) || init.expression.text !== "require") continue;
        const arg = init.arguments[0];
        if (!arg || !ts.isStringLiteral(arg) || !isChildProcess(arg.text)) continue;
        if (ts.isIdentifier(d.name)) namespaces.add(d.name.text);
        else if (ts.isObjectBindingPattern(d.name)) {
          for (const e of d.name.elements) if (ts.isIdentifier(e.name)) direct.set(e.name.text, (e.propertyName && ts.isIdentifier(e.propertyName) ? e.propertyName : e.name).text);
        }
      }
    }
  }
  return { direct, namespaces };
}

/** Wrappers this file may call: its own, and those it imports by name from a relative module. */
function visibleWrappers(file: string, ast: ts.SourceFile, wrappers: Map<string, Map<string, number>>): Map<string, number> {
  const visible = new Map(wrappers.get(file) ?? []);
  for (const s of ast.statements) {
    if (!ts.isImportDeclaration(s) || !ts.isStringLiteral(s.moduleSpecifier) || !s.moduleSpecifier.text.startsWith(".")) continue;
    const base = resolve(dirname(file), s.moduleSpecifier.text);
    const from = [base, `${base}.ts`, `${base}.js`, join(base, "index.ts")].map((f) => wrappers.get(f)).find(Boolean);
    const b = s.importClause?.namedBindings;
    if (!from || !b || !ts.isNamedImports(b)) continue;
    for (const e of b.elements) {
      const i = from.get((e.propertyName ?? e.name).text);
      if (i !== undefined) visible.set(e.name.text, i);
    }
  }
  return visible;
}

type Found = { kind: "program"; name: string } | { kind: "node" } | { kind: "param"; fn: string; index: number } | { kind: "dynamic"; code: string };

/**
 * What the program expression of a call is: a literal name (or a const holding one), node
 * itself, a parameter of the enclosing function (which makes that function a wrapper), or unknown.
 */
function programOf(expr: ts.Expression, ast: ts.SourceFile): Found {
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return { kind: "program", name: expr.text };
  const code = expr.getText(ast);
  if (code === "process.execPath") return { kind: "node" };
  if (ts.isIdentifier(expr)) {
    for (let n: ts.Node | undefined = expr.parent; n; n = n.parent) {
      if (!ts.isFunctionLike(n)) continue;
      const index = n.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === expr.text);
      if (index < 0) continue;
      const name = n.name && ts.isIdentifier(n.name) ? n.name.text : ts.isVariableDeclaration(n.parent) && ts.isIdentifier(n.parent.name) ? n.parent.name.text : undefined;
      return name ? { kind: "param", fn: name, index } : { kind: "dynamic", code };
    }
    const value = resolveConst(expr, ast);
    if (ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value)) return { kind: "program", name: value.text };
  }
  return { kind: "dynamic", code };
}

/**
 * The script of a `bash -c SCRIPT` argv: an array literal starting with "-c" whose next
 * element is a string, a template, or a const holding one.
 */
function shellScriptOf(args: ts.Expression, ast: ts.SourceFile): Script | undefined {
  if (!ts.isArrayLiteralExpression(args) || args.elements.length < 2) return undefined;
  const [flag, script] = args.elements;
  if (!ts.isStringLiteral(flag) || flag.text !== "-c") return undefined;
  const resolved = resolveConst(script, ast);
  return { text: templateText(resolved), code: resolved.getText(ast) };
}

function resolveConst(expr: ts.Expression, ast: ts.SourceFile): ts.Expression {
  if (!ts.isIdentifier(expr)) return expr;
  let found: ts.Expression | undefined;
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === expr.text && n.initializer && n.pos < expr.pos) found = n.initializer;
    ts.forEachChild(n, visit);
  };
  visit(ast);
  return found ?? expr;
}

function templateText(expr: ts.Node): string | undefined {
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return expr.text;
  if (ts.isTemplateExpression(expr)) {
    // An interpolation is a whole word here (`'${a}'` quoted, `${x}` alone): the placeholder keeps it one.
    return expr.head.text + expr.templateSpans.map((s) => PLACEHOLDER + s.literal.text).join("");
  }
  return undefined;
}

/**
 * The word at command position of every simple command in a shell script: after a line
 * start, `;`, `&`, `|`, `&&`, `||`, `(`, `$(`, a backtick, and `then`/`do`/`else`/`!`;
 * assignments, builtins and keywords skipped, `exec`/`command` looked through. The
 * scripts of `bash -c`, `trap` and `$(...)` are read too. Not a shell: enough for podkit's
 * own scripts, which its test would fail on if they outgrew it (a `$` at command position).
 */
export function shellCommands(script: string): { word: string; line: number }[] {
  const out: { word: string; line: number }[] = [];
  let line = 1;
  let words: string[] = [];
  let word = "";
  let inWord = false;
  let startLine = 1;
  const endWord = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    const cmd = words;
    words = [];
    let i = 0;
    while (i < cmd.length && (/^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/.test(cmd[i]) || SHELL_PREFIXES.has(cmd[i]) || ["then", "do", "else", "!", "{", "}", "if", "elif", "while", "until", "time"].includes(cmd[i]))) i++;
    const first = cmd[i];
    if (first === undefined || first.startsWith("((")) return;
    if (first === "for" || first === "case" || first === "select") return;
    if (first === "trap" && cmd[i + 1] !== undefined) out.push(...shellCommands(cmd[i + 1]).map((w) => ({ ...w, line: startLine })));
    if ((first === "bash" || first === "sh") && cmd[i + 1] === "-c" && cmd[i + 2] !== undefined) out.push(...shellCommands(cmd[i + 2]).map((w) => ({ ...w, line: startLine })));
    if (!SHELL_BUILTINS.has(first) && !/^[0-9]*[<>]/.test(first)) out.push({ word: first, line: startLine });
  };
  const startAt = () => {
    if (!words.length && !inWord) startLine = line;
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    if (c === "\n") line++;
    if (c === "#" && !inWord) {
      while (i < script.length && script[i] !== "\n") i++;
      line++;
      endCommand();
      continue;
    }
    if (c === "\\" && script[i + 1] === "\n") { i++; line++; continue; }
    if (c === "'" ) {
      startAt();
      const end = script.indexOf("'", i + 1);
      const quoted = script.slice(i + 1, end < 0 ? undefined : end);
      line += quoted.split("\n").length - 1;
      word += quoted;
      inWord = true;
      i = end < 0 ? script.length : end;
      continue;
    }
    if (c === "$" && script[i + 1] === "(" && script[i + 2] !== "(") {
      // A command substitution: its own commands, read recursively; the word it sits in stays one word.
      startAt();
      const end = matching(script, i + 1);
      out.push(...shellCommands(script.slice(i + 2, end)).map((w) => ({ ...w, line: line + w.line - 1 })));
      word += "$(...)";
      inWord = true;
      i = end;
      continue;
    }
    if (c === '"') {
      startAt();
      // Double quotes: text, but $(...) inside still runs commands.
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        if (script[j] === "\\") { j++; continue; }
        if (script[j] === "$" && script[j + 1] === "(" && script[j + 2] !== "(") {
          const end = matching(script, j + 1);
          out.push(...shellCommands(script.slice(j + 2, end)).map((w) => ({ ...w, line: line + w.line - 1 })));
          word += "$(...)";
          j = end;
          continue;
        }
        word += script[j];
      }
      inWord = true;
      i = j;
      continue;
    }
    if (c === "$" && script[i + 1] === "{") {
      startAt();
      const end = script.indexOf("}", i);
      word += script.slice(i, end + 1);
      inWord = true;
      i = end;
      continue;
    }
    if (c === "&" && (script[i - 1] === ">" || script[i - 1] === "<" || script[i + 1] === ">")) { word += c; inWord = true; continue; }
    if (c === "(" && inWord && word.endsWith("=")) {
      // An array assignment, `list=(a b c)`: one word, no command in it.
      const end = matching(script, i);
      const value = script.slice(i, end + 1);
      line += value.split("\n").length - 1;
      word += value;
      i = end;
      continue;
    }
    if (c === "\n" || c === ";" || c === "&" || c === "|" || c === "(" || c === ")" || c === "`") {
      if (c === "(" && script[i + 1] === "(") {
        // (( arithmetic )): no command in it.
        const end = script.indexOf("))", i);
        i = end < 0 ? script.length : end + 1;
        words = [];
        continue;
      }
      endCommand();
      continue;
    }
    if (c === " " || c === "\t") { endWord(); continue; }
    startAt();
    word += c;
    inWord = true;
  }
  endCommand();
  return out;
}

/** Index of the `)` closing the `(` at `open`, skipping quoted text. */
function matching(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === "'") { i = s.indexOf("'", i + 1); if (i < 0) return s.length; continue; }
    if (c === "(") depth++;
    if (c === ")" && --depth === 0) return i;
  }
  return s.length;
}
