// Which host of a pod waits for which during an apply. Hosts converge side by
// side, except a box behind an edge (`hosts.box.edge: gw`): it waits for its
// edge, because podkit reaches the box through the edge's SSH and the box's
// tunnel, DNS names and mail all end at the edge: an edge not (yet) in the
// state the box's roles assume (its WireGuard peer, its forwarding, its
// relay) makes the box's own apply fail in ways that say nothing about the
// cause. A box whose edge failed is not touched, and says why.
import { edgeOf } from "../stack/edge";
import type { Stack } from "../stack/schema";

/** Why a box was not converged: its edge's apply failed. */
export class EdgeFailed extends Error {
  constructor(readonly host: string, readonly edge: string) {
    super(`${host}: not converged, because its edge ${edge} failed (its failure is listed too): ` +
      `podkit reaches ${host} through ${edge}, and ${host}'s tunnel, mail and public names end there`);
  }
}

export interface EdgeOrder<T> {
  /** Converges one host; `blocked` when its edge failed (the host is then not to be touched). */
  converge(host: string, blocked?: EdgeFailed): Promise<T>;
  /** Whether a host's outcome is a failure. */
  failed(outcome: T): boolean;
  /** Told when a box starts waiting for its edge. */
  waiting?(host: string, edge: string): void;
}

/**
 * Each host's outcome, in the order of `hosts`: all at once, except that a box
 * whose edge is among `hosts` starts once its edge has finished. A box whose
 * edge is not among them (`--host box`) does not wait: its edge is as the last
 * apply left it.
 */
export function edgesFirst<T>(stack: Stack, hosts: string[], order: EdgeOrder<T>): Promise<T>[] {
  const started = new Map<string, Promise<T>>();
  const start = (host: string): Promise<T> => {
    let p = started.get(host);
    if (p) return p;
    const edge = edgeOf(stack, host);
    if (edge !== undefined && hosts.includes(edge)) {
      order.waiting?.(host, edge);
      // An edge sits behind no edge (validation), so this waits one level at most.
      p = start(edge).then((o) => order.converge(host, order.failed(o) ? new EdgeFailed(host, edge) : undefined));
    } else {
      p = order.converge(host);
    }
    started.set(host, p);
    return p;
  };
  return hosts.map(start);
}
