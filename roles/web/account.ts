// The member pages (invites, password change) the web role serves on the mail
// host's own name: where they live, so `podkit invite` prints the link the pod
// answers and the role proxies the same path.
import { hostFqdn } from "../../lib/stack/derive";
import type { Stack } from "../../lib/stack/schema";
import { MEMBERS_GROUP, MEMBER_SOCKET } from "../mail/members";

export const ACCOUNT_WEB = {
  /** podkit-account-web listens here, on loopback only; nginx proxies /account/ to it. */
  port: 8781,
  /** The root daemon's socket the pages ask (the other end: podkit-member, role mail). */
  memberSocket: MEMBER_SOCKET,
  /** The group that may use that socket. */
  group: MEMBERS_GROUP,
  script: "/usr/local/lib/podkit/podkit-account-web",
  templates: "/usr/local/lib/podkit/account-web",
} as const;

/** The mail host's HTTPS name, which the pages are served on (its certificate covers it). */
export const accountHost = (stack: Stack): string => hostFqdn(stack, stack.mail!.host);

export const inviteUrl = (stack: Stack, token: string): string => `https://${accountHost(stack)}/account/invite/${token}`;
export const passwordUrl = (stack: Stack): string => `https://${accountHost(stack)}/account/password`;
