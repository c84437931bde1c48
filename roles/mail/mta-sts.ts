// MTA-STS (RFC 8461): the policy the web role serves for the mail domains, and
// the id its DNS record carries, which must change whenever the policy does.
import { createHash } from "node:crypto";
import { hostFqdn } from "../../lib/stack/derive";
import type { Stack } from "../../lib/stack/schema";

/** The MTA-STS policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt. */
export function mtaStsPolicy(stack: Stack): string {
  const mail = stack.mail!;
  return [
    "version: STSv1",
    `mode: ${mail.mtaSts.mode}`,
    `mx: ${hostFqdn(stack, mail.host)}`,
    `max_age: ${mail.mtaSts.maxAgeDays * 86400}`,
    "",
  ].join("\r\n");
}

export function mtaStsId(stack: Stack): string {
  return createHash("sha256").update(mtaStsPolicy(stack)).digest("hex").slice(0, 20);
}
