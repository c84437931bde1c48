// Talking to the pod's ports as a client does: plain TLS (465, 993, 443) or
// the protocol's own STARTTLS first (SMTP on 25 and 587, XMPP on 5222 and
// 5269), with node:tls. The chain is judged against the system's CAs (or the
// lab's), the names with tls.checkServerIdentity, as clients judge them.
import * as net from "node:net";
import * as tls from "node:tls";

export type ProbeMode = "tls" | "smtp" | "xmpp-client" | "xmpp-server";

export interface ProbeTarget {
  address: string;
  port: number;
  mode: ProbeMode;
  /** The name sent as SNI (and as the XMPP stream's `to`). */
  servername: string;
  ca?: string;
  timeoutMs: number;
}

export interface ProbedCert {
  /** Whether the chain verifies against the trusted CAs. */
  trusted: boolean;
  /** Why it does not, as OpenSSL says it. */
  chainError?: string;
  validTo: Date;
  /** "DNS:mx.a.test, DNS:mta-sts.a.test". */
  altNames: string;
  /** The certificate as node gives it, for tls.checkServerIdentity. */
  raw: tls.PeerCertificate;
}

export interface ProbeResult {
  /** SMTP: the final greeting line ("220 mx.a.test ESMTP"). */
  banner?: string;
  cert: ProbedCert;
  ms: number;
}

/** Whether `cert` is valid for `name` (a client connecting to `name` accepts it); the reason when not. */
export function nameError(cert: tls.PeerCertificate, name: string): string | undefined {
  return tls.checkServerIdentity(name, cert)?.message;
}

export async function probe(t: ProbeTarget): Promise<ProbeResult> {
  const started = Date.now();
  const plain = net.connect({ host: t.address, port: t.port });
  const conv = new Conversation(plain, t.timeoutMs, `${t.address}:${t.port}`);
  try {
    await conv.connected();
    let banner: string | undefined;
    if (t.mode === "smtp") {
      // Postscreen sends "220-" first and the rest after its greet wait (6 s): read to the final line.
      banner = lastLine(await conv.until(/^220 [^\r\n]*\r?\n/m, "greeting"));
      conv.send("EHLO podkit-check.invalid\r\n");
      const ehlo = await conv.until(/^250 [^\r\n]*\r?\n/m, "EHLO reply");
      if (!/^250[- ]STARTTLS/im.test(ehlo)) throw new Error("no STARTTLS offered after EHLO");
      conv.send("STARTTLS\r\n");
      await conv.until(/^220 [^\r\n]*\r?\n/m, "STARTTLS reply");
    } else if (t.mode !== "tls") {
      const ns = t.mode === "xmpp-client" ? "jabber:client" : "jabber:server";
      conv.send(`<?xml version='1.0'?><stream:stream to='${t.servername}' xmlns='${ns}' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
      const features = await conv.until(/<\/stream:features>/, "stream features");
      if (!/<starttls[^>]*urn:ietf:params:xml:ns:xmpp-tls/.test(features)) throw new Error("no STARTTLS offered in the stream features");
      conv.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      await conv.until(/<proceed/, "STARTTLS proceed");
    }
    const cert = await conv.startTls(t.servername, t.ca);
    return { banner, cert, ms: Date.now() - started };
  } finally {
    conv.close();
  }
}

const lastLine = (text: string) => text.trim().split(/\r?\n/).at(-1)!;

/** A socket read until a pattern shows up, with one deadline for the whole conversation. */
class Conversation {
  private buffer = "";
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly deadline: number;
  private socket: net.Socket;

  constructor(socket: net.Socket, timeoutMs: number, private readonly where: string) {
    this.socket = socket;
    this.deadline = Date.now() + timeoutMs;
    this.listen(socket);
  }

  private listen(s: net.Socket) {
    s.on("data", (d: Buffer) => { this.buffer += d.toString("latin1"); this.waiter?.(); });
    s.on("error", (e) => { this.failure = e; this.waiter?.(); });
    s.on("close", () => { this.failure ??= new Error("connection closed"); this.waiter?.(); });
  }

  connected(): Promise<void> {
    // Not `!connecting`: a refused connection is not connecting either.
    let up = false;
    this.socket.once("connect", () => { up = true; this.waiter?.(); });
    return this.wait(() => up, "connect");
  }

  send(text: string) {
    this.socket.write(text);
  }

  /** Waits for `pattern` in what arrived since the last match; returns that text and consumes it. */
  async until(pattern: RegExp, what: string): Promise<string> {
    await this.wait(() => pattern.test(this.buffer), what);
    const m = pattern.exec(this.buffer)!;
    const text = this.buffer.slice(0, m.index + m[0].length);
    this.buffer = this.buffer.slice(m.index + m[0].length);
    return text;
  }

  private wait(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) return finish(resolve);
        if (this.failure) return finish(() => reject(new Error(`${this.where}: ${this.failure!.message}${what === "connect" ? "" : ` (waiting for ${what})`}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.where}: no ${what} in time`))), Math.max(0, this.deadline - Date.now()));
      const finish = (f: () => void) => { clearTimeout(timer); this.waiter = undefined; f(); };
      this.waiter = check;
      check();
    });
  }

  /** TLS over the connection as it is; the chain is judged, not refused, so a bad certificate is reported rather than hidden behind an error. */
  async startTls(servername: string, ca?: string): Promise<ProbedCert> {
    const secure = tls.connect({ socket: this.socket, servername, rejectUnauthorized: false, ...(ca ? { ca } : {}) });
    this.socket = secure;
    this.listen(secure);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.where}: no TLS handshake within the time left`)), Math.max(0, this.deadline - Date.now()));
      secure.once("secureConnect", () => { clearTimeout(timer); resolve(); });
      secure.once("error", (e) => { clearTimeout(timer); reject(new Error(`${this.where}: TLS handshake failed: ${e.message}`)); });
    });
    const raw = secure.getPeerCertificate();
    return {
      trusted: secure.authorized,
      ...(secure.authorizationError ? { chainError: String(secure.authorizationError) } : {}),
      validTo: new Date(raw.valid_to),
      altNames: raw.subjectaltname ?? "",
      raw,
    };
  }

  close() {
    this.socket.destroy();
  }
}

/** GET over HTTPS from one address with the name as SNI and Host (the machine need not resolve it): the MTA-STS policy. */
export async function httpsGet(address: string, name: string, path: string, ca: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
  const https = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = https.request({ host: address, servername: name, headers: { host: name }, path, ...(ca ? { ca } : {}), timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on("error", reject);
    req.end();
  });
}
