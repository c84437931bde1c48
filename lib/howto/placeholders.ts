// Secrets in the how-to: the reader makes them, podkit never prints them.
//
// Roles render with a sentinel in place of every secret, and the how-to turns
// each sentinel into a placeholder (`<ALICE_PASSWORD>`). Values a daemon
// derives from secrets (password hashes, the DKIM public key) are found by
// computing them from the sentinels exactly as the roles do, and become
// placeholders of their own. Every placeholder comes with a "make" block: a
// shell block whose first line is `# <NAME>: ...` and whose output, without its
// final newline, is the value. Made with OpenSSL 3 only, so no podkit is needed;
// the hash blocks derive the salt from the salt key as podkit does
// (lib/stack/passwords.ts), so a pod built by hand is the pod `podkit diff` expects.
import { createHash } from "node:crypto";
import { tunnelHosts, wireguardKeySecret, wireguardPublicKey } from "../stack/edge";
import { dovecotScramSha256, PASSWORD_ITERATIONS, prosodyScramSha256 } from "../stack/passwords";
import { GENERATED } from "../stack/secrets";
import type { Stack } from "../stack/schema";

const SENTINEL = /__PODKIT_SECRET_([a-z0-9-]+)__/g;

/** What a role sees for a secret while the how-to renders: URL-, shell- and one-line-safe. */
export function sentinel(name: string): string {
  // A WireGuard key must be a key for the tunnel role to take its public half: a fixed
  // 32 bytes per name, turned back into the placeholder by derivedValues().
  if (name.startsWith(wireguardKeySecret(""))) return createHash("sha256").update(`__PODKIT_SECRET_${name}__`).digest("base64");
  // A PEM key ends in a newline (node's export and Pulumi's tls.PrivateKey both): the file keeps it.
  return name === GENERATED.dkimKey ? `__PODKIT_SECRET_${name}__\n` : `__PODKIT_SECRET_${name}__`;
}

/** `alice-password` -> `<ALICE_PASSWORD>`. */
export function placeholder(name: string): string {
  return `<${name.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}>`;
}

const who = (address: string) => address.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

/** One value the reader makes, and the commands that print it. */
export interface MakeBlock {
  placeholder: string;
  /** The stack's secret this is, when it is one (its name in the secrets file). */
  secret?: string;
  what: string;
  commands: string[];
}

/** Values derived from secrets, as they appear in rendered files, each with its placeholder. */
export interface Derived {
  replace: [string, string][];
  make: MakeBlock[];
}

/** The hashes every account's sentinel password renders to, and how a reader makes the real ones. */
export function derivedValues(stack: Stack, wanted: { dovecot: boolean; prosody: boolean }): Derived {
  const replace: [string, string][] = [];
  const make: MakeBlock[] = [];
  const saltKey = sentinel(GENERATED.passwordSalt);
  for (const [address, account] of Object.entries(stack.accounts)) {
    // A member-owned account (no password in the stack) has no hash in any file: its member sets it.
    if (!account.password) continue;
    const pw = sentinel(account.password.secret);
    // Heredocs, not quotes: a password may hold any character but a newline.
    const inputs = [`pw=$(cat <<'VALUE'`, placeholder(account.password.secret), "VALUE", ")", `key=$(cat <<'VALUE'`, placeholder(GENERATED.passwordSalt), "VALUE", ")", `who='${address}'`];
    if (wanted.dovecot) {
      const p = `<DOVECOT_HASH_${who(address)}>`;
      replace.push([dovecotScramSha256(address, pw, saltKey), p]);
      make.push({
        placeholder: p, what: `${address}'s password as Dovecot's {SCRAM-SHA-256} entry (${PASSWORD_ITERATIONS} rounds)`,
        commands: [
          ...inputs,
          saltHex("dovecot"),
          `salted=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:"$pw" -kdfopt hexsalt:"$salt" -kdfopt iter:${PASSWORD_ITERATIONS} -binary PBKDF2 | od -An -tx1 | tr -d ' \\n')`,
          `stored=$(printf 'Client Key' | openssl mac -digest SHA256 -macopt hexkey:"$salted" -binary HMAC | openssl dgst -sha256 -binary | base64)`,
          `server=$(printf 'Server Key' | openssl mac -digest SHA256 -macopt hexkey:"$salted" -binary HMAC | base64)`,
          `echo "{SCRAM-SHA-256}${PASSWORD_ITERATIONS},$(${saltPipe("dovecot")} | base64),$stored,$server"`,
        ],
      });
    }
    if (wanted.prosody) {
      const rec = prosodyScramSha256(address, pw, saltKey);
      const uuid = [
        ...inputs,
        `h=$(printf 'podkit/prosody\\0%s\\0%s' "$who" "$pw" | openssl mac -digest SHA256 -macopt key:"$key" -binary HMAC | od -An -tx1 | tr -d ' \\n')`,
        // Prosody's salt is UUID-shaped (version 4, variant 8), used as PBKDF2's salt as it stands.
        `salt=$(echo "$h" | sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\\1-\\2-4\\3-8\\4-\\5/')`,
      ];
      const salted = `salted=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:"$pw" -kdfopt salt:"$salt" -kdfopt iter:${PASSWORD_ITERATIONS} -binary PBKDF2 | od -An -tx1 | tr -d ' \\n')`;
      const hex = "od -An -tx1 | tr -d ' \\n'";
      const fields: [string, string, string][] = [
        ["SALT", rec.salt, `echo "$salt"`],
        ["STORED_KEY", rec.stored_key, `printf 'Client Key' | openssl mac -digest SHA256 -macopt hexkey:"$salted" -binary HMAC | openssl dgst -sha256 -binary | ${hex}; echo`],
        ["SERVER_KEY", rec.server_key, `printf 'Server Key' | openssl mac -digest SHA256 -macopt hexkey:"$salted" -binary HMAC | ${hex}; echo`],
      ];
      for (const [field, value, last] of fields) {
        const p = `<PROSODY_${field}_${who(address)}>`;
        replace.push([value, p]);
        make.push({ placeholder: p, what: `${address}'s Prosody ${field.toLowerCase().replace("_", " ")} (SCRAM-SHA-256, ${PASSWORD_ITERATIONS} rounds)`, commands: field === "SALT" ? [...uuid, last] : [...uuid, salted, last] });
      }
    }
  }
  for (const host of tunnelHosts(stack)) {
    const name = wireguardKeySecret(host);
    const p = `<WIREGUARD_PUBLIC_KEY_${who(host)}>`;
    // The private key's stand-in back to its sentinel, so it becomes the secret's placeholder.
    replace.push([sentinel(name), `__PODKIT_SECRET_${name}__`]);
    replace.push([wireguardPublicKey(sentinel(name)), p]);
    make.push({
      placeholder: p, what: `${host}'s WireGuard public key (what \`wg pubkey\` prints; the raw key given to OpenSSL as DER: the 16 bytes before it are the X25519 key's DER header)`,
      commands: [`{ printf '\\060\\056\\002\\001\\000\\060\\005\\006\\003\\053\\145\\156\\004\\042\\004\\040'; base64 -d <<'VALUE'`, placeholder(name), "VALUE", "} | openssl pkey -inform DER -pubout -outform DER | tail -c 32 | base64"],
    });
  }
  return { replace, make };
}

/** The account's 16-byte salt: an HMAC of address and password under the salt key (lib/stack/passwords.ts). */
function saltPipe(scheme: string): string {
  return `printf 'podkit/${scheme}\\0%s\\0%s' "$who" "$pw" | openssl mac -digest SHA256 -macopt key:"$key" -binary HMAC | head -c 16`;
}

/** The salt as hex in a variable: shell variables cannot hold its NUL bytes. */
function saltHex(scheme: string): string {
  return `salt=$(${saltPipe(scheme)} | od -An -tx1 | tr -d ' \\n')`;
}

/** Accounts whose member sets the password (none in the stack): the how-to makes no placeholder for them. */
export function memberAccounts(stack: Stack): string[] {
  return Object.entries(stack.accounts).filter(([, a]) => !a.password).map(([address]) => address);
}

/** How a reader makes a secret the stack names. */
export function secretMakeBlock(name: string, stack: Stack): MakeBlock {
  const p = placeholder(name);
  if (name === GENERATED.dkimKey) return { placeholder: p, secret: name, what: "the DKIM signing key (RSA 2048, PEM)", commands: ["openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"] };
  if (name === GENERATED.passwordSalt) return { placeholder: p, secret: name, what: "the key every account's password salt is made with; keep it off the server", commands: ["openssl rand -hex 32"] };
  if (name.startsWith(wireguardKeySecret(""))) return { placeholder: p, secret: name, what: `${name.slice(wireguardKeySecret("").length)}'s WireGuard private key (what \`wg genkey\` prints)`, commands: ["openssl genpkey -algorithm X25519 -outform DER | tail -c 32 | base64"] };
  if (name === GENERATED.turnSecret) return { placeholder: p, secret: name, what: "the secret Prosody and coturn share for call credentials", commands: ["openssl rand -hex 32"] };
  const account = Object.entries(stack.accounts).find(([, a]) => a.password?.secret === name);
  if (account) return { placeholder: p, secret: name, what: `${account[0]}'s password, for mail and chat: choose one, or make one`, commands: ["openssl rand -hex 12"] };
  if (name === stack.mail?.relay?.password.secret) return { placeholder: p, secret: name, what: "the password of the pod's account at its mail relay, from the relay's provider (no command makes it)", commands: [] };
  return { placeholder: p, secret: name, what: `the stack's secret ${name}; letters and digits only, since it may sit in a URL`, commands: ["openssl rand -hex 24"] };
}

/** Turns sentinels left in a text into placeholders; returns the names it met. */
export function placeholdersIn(text: string, met: Set<string>): string {
  return text.replace(SENTINEL, (_, name: string) => {
    met.add(name);
    return placeholder(name);
  });
}

/** The make block as Markdown: a ```sh block a reader runs, whose first line names the placeholder. */
export function makeBlockLines(m: MakeBlock): string[] {
  const head = `# ${m.placeholder}${m.secret ? ` (secret ${m.secret})` : ""}: ${m.what}`;
  return ["```sh", head, ...m.commands, "```"];
}
