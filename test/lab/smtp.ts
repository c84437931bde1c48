// Other mail servers, as a pod's MX meets them: delivery to port 25 with no
// login (nodemailer, STARTTLS verified against the lab CA), and extra source
// addresses on the lab bridge so one test can play several servers or attackers.
import nodemailer from "nodemailer";
import { LAB } from "../../lib/lab/config";
import { run } from "./helpers";
import type { LabPod, Pods } from "./pods";

export interface Delivery {
  /** Envelope sender; also the header From unless `headerFrom` says otherwise. */
  from: string;
  to: string;
  subject: string;
  text: string;
  headerFrom?: string;
  headers?: Record<string, string>;
  /** The whole message as it goes over the wire (headers and body), for what nodemailer would add or fix. */
  raw?: string;
  /** Send from this address on the lab bridge (see withBridgeAddress) instead of the gateway's. */
  localAddress?: string;
}

/** Delivers one message to the pod's MX on port 25, as another server would: one connection, no login. */
export async function deliver(pods: Pods, to: LabPod, mail: Delivery): Promise<{ response: string }> {
  const transport = nodemailer.createTransport({
    host: to.ip, port: 25, secure: false, name: "gw.lab.test",
    tls: { servername: to.mx, ca: pods.ca, minVersion: "TLSv1.2" },
    ...(mail.localAddress ? { localAddress: mail.localAddress } : {}),
    // postscreen holds a new client for its greet wait (6 s) before the banner ends.
    connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000,
  } as nodemailer.TransportOptions);
  try {
    if (mail.raw) return await transport.sendMail({ envelope: { from: mail.from, to: mail.to }, raw: mail.raw });
    return await transport.sendMail({
      envelope: { from: mail.from, to: mail.to },
      from: mail.headerFrom ?? mail.from, to: mail.to, subject: mail.subject, text: mail.text, headers: mail.headers,
    });
  } finally {
    transport.close();
  }
}

/**
 * Runs `fn` while `address` is a second address of the outer machine on the lab
 * bridge: clients bound to it reach the pods as another host would (the lab's
 * NAT and filter treat the whole subnet alike). The address goes away afterwards.
 */
export async function withBridgeAddress<T>(address: string, fn: () => Promise<T>): Promise<T> {
  const cidr = `${address}/${LAB.prefixLength}`;
  const added = await run("ip", ["addr", "add", cidr, "dev", LAB.bridge]);
  if (added.code !== 0 && !/File exists/.test(added.stderr)) throw new Error(`ip addr add ${cidr}: ${added.stderr}`);
  try {
    return await fn();
  } finally {
    await run("ip", ["addr", "del", cidr, "dev", LAB.bridge]);
  }
}
