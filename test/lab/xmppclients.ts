// Real XMPP clients against the lab pods (@xmpp/client, as a Node client would
// be written), with the certificate checked against the lab CA.
import type * as TLS from "node:tls";

// The module object itself (an `import * as` namespace is read-only): @xmpp/client calls tls.connect on it.
const tls = require("node:tls") as typeof TLS;
import type { Pods, LabPod } from "./pods";
import { token } from "./mailclients";

type Element = { name: string; attrs: Record<string, string>; children: unknown[]; getChild(n: string, ns?: string): Element | undefined; getChildren(n: string, ns?: string): Element[]; getChildText(n: string, ns?: string): string | null; is(n: string, ns?: string): boolean; getText(): string; toString(): string };
export type { Element };

let trusted: Buffer | undefined;
/** Direct TLS connects by address: the name to check the certificate against is the XMPP domain. */
const domainOf = new Map<string, string>();
/**
 * @xmpp/client opens TLS with the platform's CAs only; the lab CA is private.
 * NODE_EXTRA_CA_CERTS would do, but only for a process started after the lab
 * (whose CA is new on every `lab up`), so add it here, before the library loads.
 */
function trust(ca: Buffer): void {
  if (trusted) {
    trusted = ca;
    return;
  }
  trusted = ca;
  const connect = tls.connect;
  (tls as { connect: typeof tls.connect }).connect = ((...args: unknown[]) => {
    const o = args[0] as TLS.ConnectionOptions | undefined;
    if (o && typeof o === "object") {
      o.ca ??= [...tls.rootCertificates, trusted!.toString()];
      if (!o.servername && o.host && domainOf.has(o.host)) o.servername = domainOf.get(o.host);
    }
    return (connect as (...a: unknown[]) => TLS.TLSSocket)(...args);
  }) as typeof tls.connect;
}

export interface Session {
  jid: string;
  xmpp: any;
  /** Stanzas received, in order. */
  inbox: Element[];
  /** Namespaces of every stream feature the server offered, before and after login. */
  streamFeatures: Set<string>;
  /** Waits (up to ms) for a stanza matching `pred` that arrived or arrives. */
  waitFor(pred: (el: Element) => boolean, ms?: number, what?: string): Promise<Element>;
  iq(el: unknown, ms?: number): Promise<Element>;
  stop(): Promise<void>;
}

export function xmlLib(): { xml: (...a: any[]) => any } {
  return require("@xmpp/client");
}

/** Logs in as `user@pod` over STARTTLS on 5222 (or direct TLS on 5223), sends initial presence. */
export async function login(pods: Pods, pod: LabPod, user: string, password: string, opts: { resource?: string; directTls?: boolean; presence?: boolean } = {}): Promise<Session> {
  trust(pods.ca);
  domainOf.set(pod.ip, pod.domain);
  const { client, xml } = require("@xmpp/client");
  const xmpp = client({
    service: opts.directTls ? `xmpps://${pod.ip}:5223` : `xmpp://${pod.ip}:5222`,
    domain: pod.domain, username: user, password, resource: opts.resource,
    // The library gives a server 2 s to open each stream (after STARTTLS, after SASL): a lab
    // host on a machine busy with other tests can take longer, and that is not what is tested.
    timeout: 15_000,
  });
  xmpp.reconnect?.stop?.();
  // @xmpp/client 0.14 miscounts received stanzas under stream management (XEP-0198) and
  // Prosody then ends the session ("client says it handled 3 new stanzas, but we sent 1").
  // These tests do not exercise resumption, so the client ignores the server's offer of
  // it; that Prosody offers it is checked by the compliance test.
  const streamFeatures = new Set<string>();
  xmpp.prependListener("element", (el: Element) => {
    if (!el.is("features", "http://etherx.jabber.org/streams")) return;
    for (const c of el.children as Element[]) if (c?.attrs?.xmlns) streamFeatures.add(c.attrs.xmlns);
    el.children = el.children.filter((c: any) => !(c?.name === "sm" && c.attrs?.xmlns === "urn:xmpp:sm:3"));
  });
  const inbox: Element[] = [];
  const waiters: { pred: (el: Element) => boolean; resolve: (el: Element) => void }[] = [];
  xmpp.on("stanza", (el: Element) => {
    inbox.push(el);
    for (const w of [...waiters]) if (w.pred(el)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(el); }
  });
  xmpp.on("error", () => undefined);
  let address;
  try {
    address = await xmpp.start();
  } catch (err) {
    // A refused login leaves the stream open (the server lets a client retry): close it, or
    // the test process never exits.
    await xmpp.stop().catch(() => undefined);
    throw err;
  }
  if (opts.presence !== false) await xmpp.send(xml("presence"));
  const waitFor = (pred: (el: Element) => boolean, ms = 15_000, what = "a stanza") => {
    const found = inbox.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${address}: no ${what} within ${ms / 1000}s`)), ms);
      waiters.push({ pred, resolve: (el) => { clearTimeout(timer); resolve(el); } });
    });
  };
  return {
    jid: address.toString(), xmpp, inbox, waitFor, streamFeatures,
    iq: (el, ms = 15_000) => Promise.race([
      xmpp.iqCaller.request(el, ms) as Promise<Element>,
    ]),
    stop: async () => { await xmpp.stop().catch(() => undefined); },
  };
}

export const chatBody = (el: Element) => el.getChildText("body");

/** alice@a.test writes to bob@b.test, who answers: each message must arrive within `ms`. */
export async function chatBothWays(alice: Session, bob: Session, label: string, ms = 20_000): Promise<void> {
  const { xml } = xmlLib();
  const hello = token(`${label}-hello`);
  await alice.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, hello)));
  await bob.waitFor((el) => el.is("message") && chatBody(el) === hello, ms, `alice's message (${label})`);
  const reply = token(`${label}-reply`);
  await bob.xmpp.send(xml("message", { to: "alice@a.test", type: "chat" }, xml("body", {}, reply)));
  await alice.waitFor((el) => el.is("message") && chatBody(el) === reply, ms, `bob's reply (${label})`);
}

/** Sessions a test file opens, all stopped when it ends (`after(pool.stopAll)`). */
export function sessionPool() {
  const open: Session[] = [];
  return {
    login: async (...args: Parameters<typeof login>): Promise<Session> => {
      const s = await login(...args);
      open.push(s);
      return s;
    },
    stopAll: async (): Promise<void> => {
      await Promise.all(open.map((s) => s.stop()));
    },
  };
}
