// zx for the lab's shell-outs. zx ships a CommonJS build (what tsx loads here) but its
// typings are ESM-only, so a plain `import { $ } from "zx"` fails `tsc` in this CommonJS
// project; take the types from the ESM side and the value from require().
type Zx = typeof import("zx", { with: { "resolution-mode": "import" } });
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const $: Zx["$"] = (require("zx") as Zx).$;
