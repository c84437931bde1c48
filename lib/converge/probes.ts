// Health as a client sees it. A daemon's own checker and an open port say
// little: Postfix reloads with a certificate file that does not exist, passes
// `postfix check`, answers on 587, and every client then gets "454 4.7.0 TLS
// not available due to local problem". So after a (re)load each service is
// also used the way its clients use it, on the host over loopback, trusting
// what the host trusts (its CA bundle, which holds the lab's roots in the lab)
// and asking for the names clients ask for. A failure prints what the client
// saw; converge rolls the change back (./apply.ts).
//
// Roles declare probes with the builders below (ServiceSpec.probes); the
// service script (./scripts.ts) sends ./probes.sh once and runs them.
// Only openssl (Debian's `openssl`, which ca-certificates pulls in; roles with
// a TLS probe list it) and bash are needed: STUN, DNS and HTTP are spoken
// through bash's /dev/tcp and /dev/udp.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../paths";
import { shellQuote as q } from "../ssh/shell";
import type { ProbeSpec } from "./types";

/** The package that brings the probes' one tool, openssl s_client. */
export const PROBE_PACKAGE = "openssl";

export interface TlsProbe {
  port: number;
  /** The name the client asks for (SNI) and the certificate must be valid for. */
  name: string;
  /** Plain text first, then STARTTLS (openssl s_client -starttls). */
  starttls?: "smtp" | "imap" | "xmpp";
  /** What the client sends once TLS is up (printf format: \r\n): a polite goodbye, so the server closes. */
  send?: string;
  /** An extended regex a line of the server's answer over TLS must match (its greeting). */
  expect?: string;
  /** How the failure names the check; default "TLS on <port>" or "STARTTLS on <port>". */
  label?: string;
}

/** A TLS handshake verified for `name`, optionally after STARTTLS and followed by a greeting check. */
export function tlsProbe(p: TlsProbe): ProbeSpec {
  const label = p.label ?? `${p.starttls ? "STARTTLS" : "TLS"} on ${p.port}`;
  return { name: label, run: `probe_tls ${p.port} ${q(p.name)} ${q(p.starttls ?? "-")} ${q(p.send ?? "")} ${q(p.expect ?? "")}` };
}

/** SMTP: the banner, EHLO and STARTTLS on 25 and 587, with a certificate valid for the host's name. */
export const smtpStarttls = (port: number, name: string): ProbeSpec => tlsProbe({ port, name, starttls: "smtp", send: "QUIT\\r\\n" });

/** SMTP over TLS from the first byte (submissions, 465): the banner comes over TLS. */
export const smtpTls = (port: number, name: string): ProbeSpec => tlsProbe({ port, name, send: "QUIT\\r\\n", expect: "^220 " });

/** IMAPS (993): the greeting over TLS. */
export const imapsGreeting = (port: number, name: string): ProbeSpec =>
  tlsProbe({ port, name, send: "a LOGOUT\\r\\n", expect: "^\\* OK", label: `IMAPS greeting on ${port}` });

/** XMPP: stream features offering STARTTLS for `domain`, then the handshake (5222). */
export const xmppStarttls = (port: number, domain: string): ProbeSpec => tlsProbe({ port, name: domain, starttls: "xmpp", send: "</stream:stream>" });

/** XMPP over TLS from the first byte (XEP-0368, 5223). */
export const xmppTls = (port: number, domain: string): ProbeSpec => tlsProbe({ port, name: domain });

/** HTTPS: the right certificate for `name`, and an HTTP answer. */
export const https = (port: number, name: string): ProbeSpec =>
  tlsProbe({ port, name, send: `HEAD / HTTP/1.0\\r\\nHost: ${name}\\r\\n\\r\\n`, expect: "^HTTP/1\\.[01] [0-9]{3}", label: `HTTPS on ${port}` });

/** TURN/STUN: a binding request over UDP gets a binding success response. */
export const stunBinding = (port: number): ProbeSpec => ({ name: `STUN binding on udp ${port}`, run: `probe_stun ${port}` });

/** A resolver: a query for localhost. (answered by the resolver itself, RFC 6761) comes back NOERROR. */
export const dnsAnswer = (port: number): ProbeSpec => ({ name: `DNS query on ${port}`, run: `probe_dns ${port}` });

/** A plain HTTP endpoint on loopback (rspamd's controller /ping answers "pong"). */
export const httpAnswer = (port: number, path: string, expect: string): ProbeSpec =>
  ({ name: `GET ${path} on ${port}`, run: `probe_http ${port} ${q(path)} ${q(expect)}` });

/** The shell functions the probes call (./probes.sh), sent once before the probes of a service script. */
export function probeFunctions(): string {
  return readFileSync(join(REPO_ROOT, "lib", "converge", "probes.sh"), "utf8");
}
