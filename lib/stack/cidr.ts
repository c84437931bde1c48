// Addresses and networks as firewalls take them. Hetzner's firewall refuses a
// network written with host bits set ("198.51.100.7/24") and wants every
// source as a network ("198.51.100.7/32"), so the stack file is held to the
// first rule and a single address is widened to its /32 or /128 here.
import { isIP } from "node:net";

/** The address as a big-endian bit string (32 or 128 characters of 0/1). */
function bits(ip: string): string {
  if (isIP(ip) === 4) return ip.split(".").map((o) => Number(o).toString(2).padStart(8, "0")).join("");
  // Expand "::" and an embedded IPv4 tail into eight 16-bit groups.
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1].split(".").map(Number);
    text = text.slice(0, -v4[1].length) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.map((g) => parseInt(g, 16).toString(2).padStart(16, "0")).join("");
}

function fromBits(b: string, v: 4 | 6): string {
  if (v === 4) return [0, 8, 16, 24].map((i) => parseInt(b.slice(i, i + 8), 2)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => parseInt(b.slice(i * 16, i * 16 + 16), 2).toString(16));
  // The shortest form (RFC 5952): the longest run of zero groups becomes "::".
  let best = [-1, 0];
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best[1] && j - i > 1) best = [i, j - i];
    i = Math.max(i, j);
  }
  if (best[0] < 0) return groups.join(":");
  return `${groups.slice(0, best[0]).join(":")}::${groups.slice(best[0] + best[1]).join(":")}`;
}

/**
 * For "a.b.c.d/n" or "x::/n" with bits set below the prefix, the network it
 * lies in ("198.51.100.7/24" -> "198.51.100.0/24"); undefined when the
 * network is written correctly or the text is a single address.
 */
export function networkIfHostBitsSet(text: string): string | undefined {
  const [ip, prefix] = text.split("/");
  const v = isIP(ip);
  if (prefix === undefined || (v !== 4 && v !== 6)) return undefined;
  const n = Number(prefix);
  const b = bits(ip);
  if (!b.slice(n).includes("1")) return undefined;
  return `${fromBits(b.slice(0, n).padEnd(b.length, "0"), v)}/${n}`;
}

/** A single address as the one-address network ("/32", "/128"); networks as they are. */
export function asNetwork(text: string): string {
  if (text.includes("/")) return text;
  return `${text}/${isIP(text) === 6 ? 128 : 32}`;
}

/** A network as its first and last address, the way coturn's peer ranges take it ("10.0.0.0-10.255.255.255"). */
export function cidrRange(cidr: string): { first: string; last: string; version: 4 | 6 } {
  const [ip, prefix] = cidr.split("/");
  const v = isIP(ip);
  if (v !== 4 && v !== 6) throw new Error(`not an address: ${cidr}`);
  const b = bits(ip);
  const n = prefix === undefined ? b.length : Number(prefix);
  return { first: fromBits(b.slice(0, n).padEnd(b.length, "0"), v), last: fromBits(b.slice(0, n).padEnd(b.length, "1"), v), version: v };
}
