// A busy day at a pod's MX: several servers delivering at once, one connection
// per message (as a mailing-list burst arrives), and the time each message takes
// to become visible over IMAP. Used by the load test and by `npm run bench`.
import { imapClient } from "./mailclients";
import type { LabPod, Pods } from "./pods";
import { deliver } from "./smtp";

export interface Sent {
  subject: string;
  /** SMTP reply code of the end of DATA (or of the first refusal). */
  code: number;
  response: string;
  /** Milliseconds from connecting to the final reply, and when that reply came (epoch ms). */
  ms: number;
  at: number;
}

/**
 * `senders` parallel senders each deliver `each` messages to `to` at `pod`'s port 25,
 * one after the other, each over its own connection. Subjects are `<tag>-<sender>-<n>`.
 */
export async function burst(pods: Pods, pod: LabPod, opts: { senders: number; each: number; to: string; tag: string }): Promise<Sent[]> {
  const sent: Sent[] = [];
  await Promise.all(Array.from({ length: opts.senders }, async (_, s) => {
    for (let n = 0; n < opts.each; n++) {
      const subject = `${opts.tag}-${s}-${n}`;
      const started = Date.now();
      try {
        const r = await deliver(pods, pod, {
          from: `list-${s}@gw.lab.test`, to: opts.to, subject,
          text: `Message ${n} of sender ${s} in ${opts.tag}: minutes of the garden meeting, the rota for watering, and the next date.`,
        });
        sent.push({ subject, code: Number(r.response.slice(0, 3)), response: r.response, ms: Date.now() - started, at: Date.now() });
      } catch (e: any) {
        sent.push({ subject, code: e.responseCode ?? 0, response: String(e.response ?? e.message), ms: Date.now() - started, at: Date.now() });
      }
    }
  }));
  return sent;
}

/**
 * Watches `user`'s INBOX until every subject in `expected` is there (or `ms` passes).
 * Returns how many copies of each subject arrived and when each was first seen.
 */
export async function arrivals(pods: Pods, pod: LabPod, user: string, password: string, tag: string, expected: string[], ms = 120_000): Promise<{ copies: Map<string, number>; seenAt: Map<string, number> }> {
  const client = await imapClient(pods, pod, user, password);
  const seenAt = new Map<string, number>();
  const copies = new Map<string, number>();
  const deadline = Date.now() + ms;
  try {
    const lock = await client.getMailboxLock("INBOX");
    try {
      const known = new Set<number>();
      for (;;) {
        const uids = ((await client.search({ subject: tag }, { uid: true })) || []) as number[];
        const fresh = uids.filter((u) => !known.has(u));
        if (fresh.length) {
          const now = Date.now();
          for await (const msg of client.fetch(fresh.join(","), { envelope: true }, { uid: true })) {
            known.add(msg.uid);
            const subject = msg.envelope?.subject ?? "";
            copies.set(subject, (copies.get(subject) ?? 0) + 1);
            if (!seenAt.has(subject)) seenAt.set(subject, now);
          }
        }
        if (expected.every((s) => seenAt.has(s)) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // A late duplicate would arrive right after the original: look once more.
      await new Promise((r) => setTimeout(r, 2000));
      const uids = ((await client.search({ subject: tag }, { uid: true })) || []) as number[];
      const late = uids.filter((u) => !known.has(u));
      if (late.length) {
        for await (const msg of client.fetch(late.join(","), { envelope: true }, { uid: true })) {
          const subject = msg.envelope?.subject ?? "";
          copies.set(subject, (copies.get(subject) ?? 0) + 1);
        }
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
  return { copies, seenAt };
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
