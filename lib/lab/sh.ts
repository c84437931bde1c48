// zx for the lab's shell-outs. zx ships a CommonJS build (what tsx loads here) but its
// typings are ESM-only, so a plain `import { $ } from "zx"` fails `tsc` in this CommonJS
// project; take the types from the ESM side and the value from require().
// zx takes ~250 ms to load: it is loaded on the first command, not when a module that
// might run one is imported (`podkit apply` on a lab stack usually runs none).
type Zx = typeof import("zx", { with: { "resolution-mode": "import" } });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const zx = (): Zx["$"] => (require("zx") as Zx).$;
export const $: Zx["$"] = new Proxy(function () {} as unknown as Zx["$"], {
  apply: (_target, thisArg, args) => Reflect.apply(zx(), thisArg, args),
  get: (_target, prop) => Reflect.get(zx(), prop),
});
