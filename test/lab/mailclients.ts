// Real mail clients against the lab pods: nodemailer submits, imapflow reads,
// as Thunderbird or K-9 would, with TLS verified against the lab CA.
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import type { LabPod, Pods } from "./pods";

export async function submit(pods: Pods, from: LabPod, user: string, password: string, mail: { to: string; subject: string; text: string; from?: string }, port = 587) {
  const transport = nodemailer.createTransport({
    host: from.ip, port, secure: port === 465, requireTLS: port === 587,
    auth: { user, pass: password },
    tls: { servername: from.mx, ca: pods.ca, minVersion: "TLSv1.2" },
  });
  try {
    return await transport.sendMail({ from: mail.from ?? user, to: mail.to, subject: mail.subject, text: mail.text });
  } finally {
    transport.close();
  }
}

/** A logged-in IMAPS session of `user` at the pod, certificate verified against the lab CA. */
export async function imapClient(pods: Pods, pod: LabPod, user: string, password: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: pod.ip, port: 993, secure: true, auth: { user, pass: password }, logger: false,
    tls: { servername: pod.mx, ca: pods.ca },
  } as ConstructorParameters<typeof ImapFlow>[0]);
  await client.connect();
  return client;
}

/** alice@a.test mails bob@b.test and bob mails back, over submission; each arrives in the INBOX within a minute. */
export async function mailBothWays(pods: Pods, label: string): Promise<void> {
  const there = token(`to-${label}`);
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: "bob@b.test", subject: there, text: `to ${label}` });
  await fetchBySubject(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), there, 60_000);
  const back = token(`from-${label}`);
  await submit(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), { to: "alice@a.test", subject: back, text: `from ${label}` });
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), back, 60_000);
}

/** Waits (up to `ms`) for a message whose subject contains `token` in the INBOX; returns its raw source. */
export async function fetchBySubject(pods: Pods, pod: LabPod, user: string, password: string, token: string, ms = 30_000): Promise<Buffer> {
  const deadline = Date.now() + ms;
  for (;;) {
    const client = await imapClient(pods, pod, user, password);
    try {
      const lock = await client.getMailboxLock("INBOX");
      try {
        const uids = await client.search({ subject: token }, { uid: true });
        if (uids && uids.length) {
          const msg = await client.fetchOne(String(uids[uids.length - 1]), { source: true }, { uid: true });
          if (msg && msg.source) return msg.source;
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`no message "${token}" for ${user} within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export const token = (what: string) => `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
