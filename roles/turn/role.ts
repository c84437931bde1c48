// turn: coturn, the pod's STUN/TURN server for audio and video calls. Prosody
// (role xmpp) hands members short-lived credentials made from the secret both
// share (XEP-0215); coturn checks them and relays the call's media. It runs on
// the chat host, or on the chat host's edge when it has one: TURN must answer
// on a public address, and media relayed from the edge never crosses the tunnel.
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import type { RoleState } from "../../lib/converge/types";
import { PROBE_PACKAGE, stunBinding } from "../../lib/converge/probes";
import { cidrRange } from "../../lib/stack/cidr";
import { hostFqdn, primaryDomain } from "../../lib/stack/derive";
import { edgeOf, isEdge } from "../../lib/stack/edge";
import type { Stack } from "../../lib/stack/schema";
import { GENERATED } from "../../lib/stack/secrets";
import { certPaths } from "../tls/role";
import { TURN_PORTS } from "./ports";
import { allowedLocalRanges, deniedPeerRanges } from "./turn-peers";

/** Starts coturn with the host's own addresses denied as peers (only the host knows them). */
const COTURN_START = "/usr/local/sbin/podkit-coturn";
const COTURN_DROPIN = "/etc/systemd/system/coturn.service.d/20-podkit-peers.conf";
/** Copies the host's certificate where coturn (not root) reads it. */
const CERTS = "/usr/local/sbin/podkit-turn-certs";

/** What TURN may relay, per credential and in all (turnserver.conf says why these). */
const TURN_QUOTA = { user: 12, total: 300, sessionBytesPerSecond: 400_000, totalBytesPerSecond: 12_500_000 };

/** The host coturn runs on: the chat host's edge when it has one, else the chat host. */
export function turnHost(stack: Stack): string | undefined {
  const chatHost = stack.chat?.host;
  return chatHost === undefined ? undefined : edgeOf(stack, chatHost) ?? chatHost;
}

/** The name clients reach coturn at (Prosody's turn_external_host): its host's own name, on its certificate. */
export const turnName = (stack: Stack): string => hostFqdn(stack, turnHost(stack)!);

export const turn: Role = {
  name: "turn",
  after: {
    tls: "coturn starts with the host's certificate (TURN over TLS)",
    // On the chat host both run; the order they had when coturn was part of role xmpp.
    xmpp: "on the chat host coturn comes after Prosody, which hands out its credentials",
  },
  appliesTo: (stack, host) => turnHost(stack) === host,
  ports: [
    { protocol: "tcp", port: TURN_PORTS.turn, service: "stun-turn", why: "STUN/TURN for audio and video calls (coturn)" },
    { protocol: "udp", port: TURN_PORTS.turn, service: "stun-turn", why: "STUN/TURN for audio and video calls (coturn)" },
    { protocol: "tcp", port: TURN_PORTS.turnTls, service: "turns", why: "TURN over TLS, for calls from restrictive networks" },
    { protocol: "udp", range: TURN_PORTS.relay, service: "turn-relay", why: "media relayed by TURN during calls" },
  ],
  removal: {
    stop: ["coturn.service"],
    remove: ["/etc/turnserver.conf", COTURN_START, COTURN_DROPIN, CERTS, "/etc/podkit/tls/reload.d/turn", "/etc/coturn/certs"],
    keeps: "nothing: coturn keeps no data",
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const chat = stack.chat!;
    const view = {
      fqdn,
      turnSecret: ctx.secret(GENERATED.turnSecret),
      realm: primaryDomain(stack),
      ports: TURN_PORTS,
      // A host whose own network is private relays to the peers on it, and to no other private block.
      deniedPeers: deniedPeerRanges(),
      tcpRelay: chat.turn.tcpRelay,
      quota: TURN_QUOTA,
    };
    const t = (path: string) => renderTemplate("turn", path, view, ctx.profile.release);
    const live = certPaths(fqdn).fullchain;
    return {
      role: "turn",
      packages: ["coturn", PROBE_PACKAGE],
      files: [
        { path: "/etc/turnserver.conf", content: t("etc/turnserver.conf"), group: "turnserver", mode: 0o640, secret: true },
        { path: COTURN_START, mode: 0o755, content: renderTemplate("turn", "usr/local/sbin/podkit-coturn", { allowed: allowedLocalRanges(ctx.profile.localRanges), tunnel: tunnelPeers(stack, ctx.host) }, ctx.profile.release) },
        { path: COTURN_DROPIN, content: t("etc/systemd/system/coturn.service.d/20-podkit-peers.conf") },
        { path: CERTS, mode: 0o755, content: t("usr/local/sbin/podkit-turn-certs") },
        { path: "/etc/podkit/tls/reload.d/turn", mode: 0o755, content: t("etc/podkit/tls/reload.d/turn") },
      ],
      handlers: [{
        // The drop-in is read only after a daemon-reload, before coturn restarts.
        name: "systemctl daemon-reload", when: [COTURN_DROPIN], run: "systemctl daemon-reload",
      }, {
        name: "certificate for coturn", when: [CERTS], run: CERTS,
        unless: `cmp -s ${live} /etc/coturn/certs/pod.crt`,
      }],
      services: [
        { unit: "coturn.service", watch: ["/etc/turnserver.conf", "/etc/coturn/", COTURN_START, COTURN_DROPIN], onChange: "restart", ports: [TURN_PORTS.turn], probes: [stunBinding(TURN_PORTS.turn)] },
      ],
    };
  },
};

/** On an edge, every address of the tunnel network, which coturn must never relay into; nothing elsewhere. */
function tunnelPeers(stack: Stack, host: string): { cidr: string; addresses: string } | undefined {
  if (!isEdge(stack, host)) return undefined;
  const { first, last } = cidrRange(stack.edge.tunnel);
  const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const addresses: string[] = [];
  for (let n = toInt(first); n <= toInt(last); n++) addresses.push([24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join("."));
  return { cidr: stack.edge.tunnel, addresses: addresses.join(" ") };
}
