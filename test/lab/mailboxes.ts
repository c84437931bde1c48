// Where a message landed in a member's mailbox: the inbox, or Junk, where the
// filter files what it finds spammy. Tests about the SMTP edge (postscreen,
// smuggling) prove delivery, not the filter's verdict, so they look in both.
import { imapClient } from "./mailclients";
import type { LabPod, Pods } from "./pods";

const FOLDERS = ["INBOX", "Junk"];

/** The folders (INBOX, Junk) holding a message whose subject contains `subject`, looked at once. */
export async function foldersWith(pods: Pods, pod: LabPod, user: string, password: string, subject: string): Promise<string[]> {
  const client = await imapClient(pods, pod, user, password);
  try {
    const existing = (await client.list()).map((m) => m.path).filter((p) => FOLDERS.includes(p));
    const found: string[] = [];
    for (const folder of existing) {
      const lock = await client.getMailboxLock(folder);
      try {
        const uids = await client.search({ subject }, { uid: true });
        if (uids && uids.length) found.push(folder);
      } finally {
        lock.release();
      }
    }
    return found;
  } finally {
    await client.logout().catch(() => undefined);
  }
}

/** Waits (up to `ms`) until a message whose subject contains `subject` is in INBOX or Junk; returns the folder. */
export async function deliveredTo(pods: Pods, pod: LabPod, user: string, password: string, subject: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const [folder] = await foldersWith(pods, pod, user, password, subject);
    if (folder) return folder;
    if (Date.now() > deadline) throw new Error(`no message "${subject}" for ${user} in ${FOLDERS.join(" or ")} within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
