// Who the pod says it is: the reverse name (PTR) of each of its addresses is
// the host's name, and that name resolves back to the address
// (forward-confirmed reverse DNS), which receivers of mail insist on. The
// SMTP greeting's name is checked with port 25 (./reach.ts, bannerCheck).
// A box behind an edge has no address of its own: its edge's is checked, under
// the edge, and the edge of the mail host must name the mail host (it sends
// the pod's mail: lib/stack/reverse-name.ts).
import type { Resolver } from "node:dns/promises";
import { edgeOf } from "../stack/edge";
import { reverseName } from "../stack/reverse-name";
import type { Stack } from "../stack/schema";
import { lookup } from "./dns-lookup";
import { type CheckResult, ok, problem } from "./result";

export interface IdentityInput {
  stack: Stack;
  hosts: string[];
  addresses: Record<string, { ipv4?: string; ipv6?: string }>;
  recursive: Resolver;
}

export async function identityChecks(c: IdentityInput): Promise<CheckResult[]> {
  const jobs = c.hosts.filter((host) => edgeOf(c.stack, host) === undefined).flatMap((host) => [c.addresses[host]?.ipv4, c.addresses[host]?.ipv6].filter((a): a is string => !!a).map((address) => ({ host, address })));
  return Promise.all(jobs.map(async ({ host, address }) => {
    const want = reverseName(c.stack, host);
    let ptr: string[];
    try {
      ptr = (await c.recursive.reverse(address)).map((n) => n.toLowerCase().replace(/\.$/, ""));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTFOUND" && code !== "ENODATA") return ptrProblem(c.stack, host, address, `the reverse name of ${address} could not be asked (${(err as Error).message})`, want);
      ptr = [];
    }
    return judgePtr(c.stack, host, address, ptr, await forward(c.recursive, want, address));
  }));
}

async function forward(r: Resolver, name: string, address: string): Promise<boolean> {
  const type = address.includes(":") ? "AAAA" : "A";
  return (await lookup(r, name, type).catch(() => [] as string[])).includes(address.toLowerCase());
}

/** Pure: the reverse names found and whether the host's name resolves back to the address. */
export function judgePtr(stack: Stack, host: string, address: string, ptr: string[], forwardConfirmed: boolean): CheckResult {
  const want = reverseName(stack, host);
  const id = `identity/ptr/${host}/${address}`;
  if (!ptr.length) return ptrProblem(stack, host, address, `${address} has no reverse name (PTR)`, want);
  if (!ptr.includes(want)) return ptrProblem(stack, host, address, `the reverse name of ${address} is ${ptr.join(", ")}, not ${want}`, want);
  if (!forwardConfirmed) {
    return problem("fail", "identity", id, `${address} is ${want} by PTR, but ${want} does not resolve to ${address}`, sendsMail(stack, host) ? "receivers check that the reverse name resolves back: mail from the pod is refused or lands in spam" : "the host's name and address disagree",
      `publish the host's address record (podkit plan lists it): ${want}. IN ${address.includes(":") ? "AAAA" : "A"} ${address}`, host);
  }
  return ok("identity", id, `${address} is ${want} (PTR, forward-confirmed)`, host);
}

/** The mail host sends the pod's mail, or its edge when it has one. */
const sendsMail = (stack: Stack, host: string) => stack.mail !== undefined && (stack.mail.host === host || edgeOf(stack, stack.mail.host) === host);

function ptrProblem(stack: Stack, host: string, address: string, summary: string, want: string): CheckResult {
  const hetzner = stack.hosts[host]?.hcloud ? " (pulumi up sets it for Hetzner servers)" : "";
  return problem(sendsMail(stack, host) ? "fail" : "warn", "identity", `identity/ptr/${host}/${address}`, summary,
    sendsMail(stack, host) ? "large receivers refuse or spam-file mail from an address whose reverse name is not the sender's name" : "the host's address does not name it back",
    `set the reverse DNS (PTR) of ${address} to ${want} at the provider of the address${hetzner}`, host);
}
