// Reusable field types of the stack file. Each carries its own description and
// example so the JSON Schema and the reference doc say what a value means.
import { isIP } from "node:net";
import { z } from "zod";
import { networkIfHostBitsSet } from "./cidr";

export const NAME_RE = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$/;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const LOCAL_RE = /^[a-z0-9]([a-z0-9._+-]{0,62}[a-z0-9])?$/;

/** A short lower-case name: pods, hosts, groups. */
export const name = (what: string) =>
  z
    .string()
    .regex(NAME_RE, `a ${what} name: lower-case letters, digits and "-", starting with a letter (e.g. "mx")`);

export const domain = z
  .string()
  .regex(DOMAIN_RE, 'a lower-case domain name without a trailing dot (e.g. "example.org")')
  .meta({ examples: ["example.org"] });

/** A full mail address, lower-case. */
export const address = z
  .string()
  .refine((s) => {
    const at = s.lastIndexOf("@");
    return at > 0 && LOCAL_RE.test(s.slice(0, at)) && DOMAIN_RE.test(s.slice(at + 1));
  }, 'a lower-case mail address (e.g. "alice@example.org")')
  .meta({ examples: ["alice@example.org"] });

/** An address, or just a local part that lives on the account's own domain. */
export const aliasAddress = z
  .string()
  .refine((s) => (s.includes("@") ? address.safeParse(s).success : LOCAL_RE.test(s)),
    'a local part ("info") or a lower-case mail address ("info@example.org")')
  .meta({ examples: ["postmaster", "info@example.net"] });

export const ipv4 = z.string().refine((s) => isIP(s) === 4, 'an IPv4 address (e.g. "203.0.113.10")');
export const ipv6 = z.string().refine((s) => isIP(s) === 6, 'an IPv6 address (e.g. "2001:db8::10")');
export const cidr = z
  .string()
  .refine((s) => {
    const [ip, bits, ...rest] = s.split("/");
    const v = isIP(ip);
    const n = Number(bits ?? (v === 6 ? 128 : 32));
    return rest.length === 0 && v !== 0 && Number.isInteger(n) && n >= 0 && n <= (v === 6 ? 128 : 32);
  }, 'an address or network (e.g. "198.51.100.7" or "2001:db8::/48")')
  // Firewalls (Hetzner's refuses the rule) take a network by its first address only.
  .superRefine((s, ctx) => {
    const network = networkIfHostBitsSet(s);
    if (network) {
      // Reads after "expected ...": the network it lies in, or the address alone.
      ctx.addIssue({ code: "custom", message: `a network written from its first address (host bits clear): "${network}", or the single address "${s.split("/")[0]}"` });
    }
  });

export const port = z.number().int().min(1).max(65535);

/** "10G", "500M": sizes the daemons understand. */
export const size = z
  .string()
  .regex(/^[1-9][0-9]*[KMGT]$/, 'a size: a whole number and K, M, G or T (e.g. "2G")')
  .meta({ examples: ["2G", "500M"] });

/** "90s", "10m", "1h", "7d": a span of time, in the units every daemon's config understands once converted (durationSeconds). */
export const duration = z
  .string()
  .regex(/^[1-9][0-9]{0,5}[smhd]$/, 'a duration: a whole number and s, m, h or d (e.g. "10m", "1h")')
  .meta({ examples: ["10m", "1h"] });

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** A valid `duration` in seconds ("10m" → 600). */
export function durationSeconds(d: string): number {
  return Number(d.slice(0, -1)) * UNIT_SECONDS[d.slice(-1) as keyof typeof UNIT_SECONDS];
}

/**
 * A secret is never written in the stack file, only named. `pulumi up` reads it from
 * Pulumi config (`pulumi config set --secret podkit:<name>`); `podkit apply` from the
 * stack's secrets file (`<stack>.secrets.yaml`, mode 0600) or PODKIT_SECRET_<NAME>.
 */
export const secretRef = z
  .strictObject({
    secret: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'a secret name: letters, digits and "-" (e.g. "alice-password")')
      .describe("Name of the secret (a Pulumi config key in the `podkit` namespace, or a key of the secrets file)."),
  })
  .describe("A reference to a secret kept outside the stack file: `{ secret: name }`.")
  .meta({ examples: [{ secret: "alice-password" }] });

export type SecretRef = z.infer<typeof secretRef>;

/** OpenSSH public key line, as in authorized_keys or /etc/ssh/ssh_host_ed25519_key.pub. */
export const sshPublicKey = z
  .string()
  .regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}( .*)?$/,
    'an OpenSSH public key line ("ssh-ed25519 AAAA... comment")');

/** A pinned host key: its public key line or its SHA256 fingerprint. */
export const hostKey = z
  .string()
  .refine((s) => /^SHA256:[A-Za-z0-9+/]{43}=?$/.test(s) || sshPublicKey.safeParse(s).success,
    'a host public key ("ssh-ed25519 AAAA...") or its fingerprint ("SHA256:...")')
  .meta({ examples: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1mB2Y8Zn8m4m8p1h5bq0vWc1Lw1o3iQn0cM9sX2a7T", "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"] });

/** A host to connect to: a domain name or an IP address, nothing a shell or a URL would read more into. */
export const hostOrAddress = z
  .string()
  .refine((s) => DOMAIN_RE.test(s) || isIP(s) !== 0, 'a lower-case host name or an IP address (e.g. "backup.example.net" or "192.0.2.25")')
  .meta({ examples: ["u123456.your-storagebox.de"] });

/** A login at another server (SSH, SFTP, SMTP, HTTP): letters, digits and . _ - @ + = only, up to 256. */
export const login = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._@+=-]{0,255}$/, 'a login of letters, digits and . _ - @ + = (e.g. "u123456" or "pod@relay.example")')
  .meta({ examples: ["u123456"] });

/** A URL that may carry a login or fetch what becomes a certificate: https only. */
export const httpsUrl = z
  // http: would show a login sent with every request, and what it carries, to anyone on the way.
  .url({ protocol: /^https$/, error: "an https: URL (http: would send the login and the data in clear)" })
  .refine((s) => !/[\s'"`$\\]/.test(s), "an https URL without quotes, spaces, $, ` or \\")
  .meta({ examples: ["https://backup.example.net:8000/pod"] });

/** A path on a remote server (relative to the login's home, or absolute): names of letters, digits, . _ - separated by /, no "." or "..". */
export const remotePath = z
  .string()
  .regex(/^(?!.*(^|\/)\.\.?(\/|$))\/?[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/, 'a path of letters, digits, ".", "_" and "-" separated by "/", without "." or ".." parts, no name starting with "." (e.g. "podkit" or "/backups/podkit")')
  .meta({ examples: ["podkit"] });
