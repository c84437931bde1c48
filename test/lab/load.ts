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

export interface Arrivals {
  /** How many copies of each subject arrived. */
  copies: Map<string, number>;
  /** When each subject was first seen over IMAP (epoch ms). */
  seenAt: Map<string, number>;
}

/**
 * Watches `user`'s INBOX from now on: started before the mail is sent, so the time a
 * message is first seen is when it became visible, not when someone looked. Each look
 * fetches only the messages that came since the last one (UIDs from UIDNEXT on), every
 * 200 ms, however full the mailbox already is. `until(expected)` waits for every
 * subject in `expected` (or `ms`), looks once more for late duplicates, and logs out.
 */
export async function watchInbox(pods: Pods, pod: LabPod, user: string, password: string, tag: string): Promise<{ until(expected: string[], ms?: number): Promise<Arrivals> }> {
  const client = await imapClient(pods, pod, user, password);
  const lock = await client.getMailboxLock("INBOX");
  const box = client.mailbox;
  let next = box ? Number(box.uidNext) : 1;
  const seenAt = new Map<string, number>();
  const copies = new Map<string, number>();
  const look = async () => {
    // "n:*" names the newest message even when its UID is below n: only UIDs from n on are new.
    for await (const msg of client.fetch(`${next}:*`, { envelope: true }, { uid: true })) {
      if (msg.uid < next) continue;
      next = msg.uid + 1;
      const subject = msg.envelope?.subject ?? "";
      if (!subject.startsWith(tag)) continue;
      copies.set(subject, (copies.get(subject) ?? 0) + 1);
      if (!seenAt.has(subject)) seenAt.set(subject, Date.now());
    }
  };
  let stopped = false;
  let failed: unknown;
  // A failed look (the connection dropped) ends the watch; until() reports it.
  const polling = (async () => {
    while (!stopped) {
      await look();
      await new Promise((r) => setTimeout(r, 200));
    }
  })().catch((err) => {
    failed = err;
    stopped = true;
  });
  return {
    async until(expected: string[], ms = 120_000): Promise<Arrivals> {
      const deadline = Date.now() + ms;
      try {
        while (!stopped && !expected.every((s) => seenAt.has(s)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        // A late duplicate would arrive right after the original: look once more.
        if (!stopped) await new Promise((r) => setTimeout(r, 2000));
        stopped = true;
        await polling;
        if (failed) throw failed;
        await look();
      } finally {
        stopped = true;
        await polling;
        lock.release();
        await client.logout().catch(() => undefined);
      }
      return { copies, seenAt };
    },
  };
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
