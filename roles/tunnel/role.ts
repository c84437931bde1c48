// tunnel: the WireGuard tunnel between a box on a line that takes no inbound
// connections and its edge, the small public host that is the pod's face
// (hosts.<box>.edge). The box dials the edge and keeps the path open; the
// edge routes: it forwards the box's ports to the box's tunnel address with
// the client's own address (base's nftables, ./forwarding.ts), and the box
// answers and sends its XMPP server-to-server connections back through it.
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import type { RoleState } from "../../lib/converge/types";
import { hostFqdn } from "../../lib/stack/derive";
import {
  boxesBehind, edgeOf, isEdge, TUNNEL_INTERFACE, TUNNEL_TABLE, tunnelAddress, tunnelHosts, tunnelPrefix, wireguardKeySecret, wireguardPublicKey,
} from "../../lib/stack/edge";

const CONFIG = `/etc/wireguard/${TUNNEL_INTERFACE}.conf`;
const UNIT = `wg-quick@${TUNNEL_INTERFACE}.service`;
const USERSPACE_DROP_IN = `/etc/systemd/system/${UNIT}.d/userspace.conf`;
const FORWARDING = "/etc/sysctl.d/60-podkit-edge.conf";

export const tunnel: Role = {
  name: "tunnel",
  after: { base: "the firewall's forwarding, tunnel and masquerading rules are loaded before the tunnel carries anything" },
  appliesTo: (stack, host) => tunnelHosts(stack).includes(host),
  // The edge listens, its boxes dial out (their replies pass as established).
  ports: (stack, host) => isEdge(stack, host)
    ? [{ protocol: "udp", port: stack.edge.port, service: "wireguard", why: `WireGuard: the tunnels of ${boxesBehind(stack, host).join(", ")}, dialled from their lines` }]
    : [],
  removal: {
    stop: [UNIT],
    remove: [CONFIG, USERSPACE_DROP_IN, FORWARDING],
    keeps: "wireguard-tools, and the key in the pod's secrets (a host put back behind its edge gets the same one)",
  },
  state(ctx: RoleContext): RoleState {
    const { stack, host, fqdn } = ctx;
    const edge = isEdge(stack, host);
    // The forwarding is nftables' (base): without a firewall of its own an edge would forward nothing, or anything.
    if (edge && !ctx.profile.firewall) {
      throw new Error(`host ${host} is the edge of ${boxesBehind(stack, host).join(", ")} but cannot load nftables rules (a container VPS?): an edge forwards with its own firewall; make a VM or a host that can the edge`);
    }
    const userspace = !!ctx.profile.wireguardUserspace;
    const t = (path: string, view: Record<string, unknown> = {}) => renderTemplate("tunnel", path, { fqdn, ...view }, ctx.profile.release);
    return {
      role: "tunnel",
      // wg-quick and its hooks run `ip`; `sysctl` loads the edge's forwarding.
      packages: ["wireguard-tools", "iproute2", ...(edge ? ["procps"] : []), ...(userspace ? ["wireguard-go"] : [])],
      files: [
        { path: CONFIG, mode: 0o600, secret: true, content: t(`etc/wireguard/${TUNNEL_INTERFACE}.conf`, wireguardView(ctx)) },
        ...(userspace ? [{ path: USERSPACE_DROP_IN, content: t(`etc/systemd/system/${UNIT}.d/userspace.conf`) }] : []),
        ...(edge ? [{ path: FORWARDING, content: t("etc/sysctl.d/60-podkit-edge.conf") }] : []),
      ],
      checks: [{
        // wg-quick's own parse (what `up` reads first), and the key is one `wg` takes.
        name: "wg-quick strip", reads: [CONFIG],
        run: `wg-quick strip {stage}${CONFIG} > /dev/null && sed -n 's/^PrivateKey = //p' {stage}${CONFIG} | wg pubkey > /dev/null`,
      }],
      handlers: [
        ...(userspace ? [{ name: "systemctl daemon-reload", when: [USERSPACE_DROP_IN], run: "systemctl daemon-reload" }] : []),
        ...(edge ? [{ name: "forward packets", when: [FORWARDING], run: `sysctl -q -p ${FORWARDING}` }] : []),
      ],
      // A restart: addresses, rules and peers are set at `up` (ExecReload's syncconf would miss all but peers).
      services: [{ unit: UNIT, watch: [CONFIG, `/etc/systemd/system/${UNIT}.d/`], onChange: "restart" }],
    };
  },
};

/** What wg-podkit.conf says on `host`: an edge lists its boxes; a box has the one edge it dials. */
function wireguardView(ctx: RoleContext): Record<string, unknown> {
  const { stack, host } = ctx;
  const publicKey = (h: string) => wireguardPublicKey(ctx.secret(wireguardKeySecret(h)));
  const edge = edgeOf(stack, host);
  const common = {
    interface: TUNNEL_INTERFACE, privateKey: ctx.secret(wireguardKeySecret(host)).trim(), address: tunnelAddress(stack, host), prefix: tunnelPrefix(stack),
  };
  if (edge === undefined) {
    return {
      ...common, edge: { port: stack.edge.port }, box: false,
      // Only the box's own address comes from its side: everything else it sends was masqueraded to it.
      peers: boxesBehind(stack, host).map((b) => ({ name: b, publicKey: publicKey(b), allowedIps: `${tunnelAddress(stack, b)}/32`, dial: false })),
    };
  }
  return {
    ...common, edge: false, box: { table: TUNNEL_TABLE },
    peers: [{
      name: edge, publicKey: publicKey(edge),
      // Anything may come from the edge (forwarded clients keep their addresses); what goes there is the rules' choice.
      allowedIps: "0.0.0.0/0",
      // wg-quick resolves the name at start (the unit retries until it resolves).
      dial: { endpoint: `${hostFqdn(stack, edge)}:${stack.edge.port}`, keepalive: stack.edge.keepalive },
    }],
  };
}
