// Lab hosts as one kind of host: `hosts.<name>.lab: { name: a }` in a stack is
// found, reached and described through the running lab's state file, and the
// lab's own services (its DNS, its backup target) are set up around an apply
// of a lab pod, as Cloudflare and a rented storage box are for a real pod.
import { readFileSync } from "node:fs";
import { planDns } from "../dns/plan";
import { renderZones } from "../dns/zonefile";
import type { HostProvider } from "../stack/host-provider";
import type { HostProfile } from "../stack/profile";
import { provideLabBackupTarget } from "./backup-target";
import { labSecretsAdvice } from "./checkout";
import { EDGE_HOSTS, LAB, LAB_HOSTS, SEATS, anyLabHost, labHosts, seatNumber } from "./config";
import { LAB_REVERSE_PARENT, publishLabZones } from "./dns";
import { type LabState, labHostRelease, readLabState } from "./state";

/**
 * A lab host: an nspawn container (the outer machine keeps the clock) on an
 * IPv4-only bridge, whose daemons must ask the lab resolver and accept the
 * reserved .test zones the lab serves.
 */
export function labProfile(state: LabState, labHost?: string): HostProfile {
  return labProfileWithResolver(state.resolver, labHost ? labHostRelease(state, labHost) : "bookworm");
}

/** The same, before any lab runs (rendering for the config checkers): the resolver the lab's config gives. */
export function labProfileWithResolver(resolver: string = LAB.gateway, release = "bookworm"): HostProfile {
  return {
    virtualization: "container",
    ipv6: false,
    // lab.test and the pod zones (a.test, b.test) all lie under .test; the lab's reverse
    // names (PTR of 10.77.0.x) under 10.in-addr.arpa. The lab resolver forwards other
    // names to the outer machine's resolver, which may strip DNSSEC (the one this lab
    // was built on answers `. DNSKEY` with NXDOMAIN and never sets the DO bit):
    // validating behind it would make deb.debian.org bogus, and apt in lab hosts would
    // stop working.
    resolver: { address: resolver, privateZones: [LAB.labZone.split(".").at(-1)!, LAB_REVERSE_PARENT], dnssec: false },
    // The private block LAB.subnet lies in: a call's peers are lab hosts and the outer machine.
    localRanges: ["10.0.0.0/8"],
    firewall: true,
    release,
    // The machine the lab runs on has no WireGuard module (lib/lab/README.md).
    wireguardUserspace: true,
  };
}

/** The lab adapter over a given state, or the running lab's, read on first use (a stack without lab hosts never reads it). */
export function labProvider(given?: LabState | null): HostProvider {
  let state = given;
  const lab = (): LabState | null => (state === undefined ? (state = readLabState()) : state);
  return {
    kind: "lab",
    locate(stack, name) {
      const wanted = stack.hosts[name].lab!.name;
      if (!anyLabHost(wanted)) {
        return { problem: `there is no lab host "${wanted}": the lab's hosts are ${labHosts().map((h) => h.name).join(", ")}, the workshop seats seat1 to seat${SEATS.max} (\`podkit lab up --seats N\`), and ${EDGE_HOSTS.map((h) => h.name).join(" and ")} (\`podkit lab up --edge\`)` };
      }
      const seat = seatNumber(wanted);
      const edge = EDGE_HOSTS.some((h) => h.name === wanted);
      const s = lab();
      if (!s) return { problem: `the lab is not running: start it with \`npx podkit lab up${seat ? ` --seats ${seat}` : edge ? " --edge" : ""}\`` };
      const found = s.hosts[wanted];
      if (found) return { addresses: { ipv4: found.address } };
      if (seat) return { problem: `the lab has no seat ${seat} (it has ${s.seats ?? 0}): add it with \`npx podkit lab up --seats ${seat}\`` };
      return { problem: edge ? `the lab has no edge and box: add them with \`npx podkit lab up --edge\`` : `lab host "${wanted}" is not running` };
    },
    target(stack, name) {
      const h = lab()?.hosts[stack.hosts[name].lab!.name];
      if (!h) return `lab host "${stack.hosts[name].lab!.name}" is not running`;
      return { address: h.address, port: 22, user: h.user, hostKey: h.hostKey, privateKeyPath: h.sshPrivateKeyPath };
    },
    profile: (stack, name) => labProfile(lab()!, stack.hosts[name].lab!.name),
    // A lab pod's secrets come with the running lab: say whose checkout has them.
    secretsAdvice: (stackFile, secretsFile) => labSecretsAdvice(lab() ?? null, stackFile, secretsFile),
    // A lab pod's DNS is the lab's: its zone is published before converging, as `pulumi up` does at Cloudflare.
    async beforeApply(pod, { log }) {
      const zones = renderZones(pod.stack, planDns(pod.stack, pod.dns));
      for (const zone of await publishLabZones(zones, lab()!.authoritative.zones)) log(`lab DNS: published zone ${zone}`);
    },
    // The lab is a world of its own: its resolver, knot on its own port, its CA, and only lab peers for port 25:
    // the fixed pods a.test and b.test (`npm run lab` applies them), for a seat's pod too, so
    // a pod's check does not grow a line per seat.
    checkEnvironment(stack) {
      const s = lab()!;
      const own = Object.values(stack.hosts).map((h) => h.lab?.name);
      return {
        resolvers: [s.resolver],
        authoritative: [`${s.authoritative.address}:${s.authoritative.port}`],
        ca: readFileSync(s.acme.trustBundlePath, "utf8"),
        outboundPeers: LAB_HOSTS.filter((h) => h.role.startsWith("pod") && !own.includes(h.name) && s.hosts[h.name]).map((h) => s.hosts[h.name].address),
      };
    },
    // The lab's backup target is needed by the pod's first backup, not by apply: it is set up alongside.
    async alongsideApply(pod, { roles, log }) {
      if (!roles || roles.includes("backup")) await provideLabBackupTarget(lab()!, pod, log);
    },
  };
}
