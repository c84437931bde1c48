// The how-to as one self-contained HTML page: inline CSS, a little inline JS
// for the copy buttons, no network. No Markdown library is among podkit's
// dependencies, so this converts exactly the subset lib/howto/markdown.ts
// writes: ATX headings, paragraphs, fenced code, "- " lists. Everything from
// the how-to is escaped; only the tags made here are HTML.

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Inline Markdown: `code` and **bold**, the rest escaped text. */
function inline(s: string): string {
  return s.split(/(`[^`]+`)/).map((part) =>
    part.startsWith("`") && part.endsWith("`") && part.length > 1
      ? `<code>${escapeHtml(part.slice(1, -1))}</code>`
      : escapeHtml(part).replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>"),
  ).join("");
}

/** An id from a heading's text, unique in the page. */
function slugger(): (text: string) => string {
  const seen = new Map<string, number>();
  return (text) => {
    const base = text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "section";
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n ? `${base}-${n}` : base;
  };
}

export function howtoHtml(markdown: string): string {
  const lines = markdown.split("\n");
  const body: string[] = [];
  const toc: { level: number; id: string; text: string }[] = [];
  const slug = slugger();
  let title = "podkit how-to";
  let para: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (para.length) body.push(`<p>${inline(para.join(" "))}</p>`);
    if (list.length) body.push(`<ul>${list.map((i) => `<li>${inline(i)}</li>`).join("")}</ul>`);
    para = [];
    list = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^```(\S*)$/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && lines[i] !== "```"; i++) code.push(lines[i]);
      const lang = fence[1] || "text";
      body.push(`<div class="code"><button type="button" class="copy" aria-label="copy">copy</button><pre data-lang="${escapeHtml(lang)}"><code class="language-${escapeHtml(lang)}">${escapeHtml(code.join("\n"))}</code></pre></div>`);
      continue;
    }
    const heading = /^(#{1,6}) (.*)$/.exec(line);
    if (heading) {
      flush();
      const level = heading[1].length;
      const text = heading[2];
      if (level === 1) { title = text; body.push(`<h1>${inline(text)}</h1>`); continue; }
      const id = slug(text);
      toc.push({ level, id, text });
      body.push(`<h${level} id="${id}">${inline(text)}</h${level}>`);
      continue;
    }
    if (line.startsWith("- ")) { if (para.length) flush(); list.push(line.slice(2)); continue; }
    if (!line.trim()) { flush(); continue; }
    if (list.length) flush();
    para.push(line);
  }
  flush();
  const nav = toc.map((t) => `<li class="toc-${t.level}"><a href="#${t.id}">${inline(t.text)}</a></li>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 16px/1.5 "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fff; }
nav { position: fixed; top: 0; bottom: 0; left: 0; width: 17rem; overflow: auto; padding: 1rem; background: #f4f4f6; border-right: 1px solid #ddd; font-size: 14px; }
nav ul { list-style: none; padding: 0; margin: 0; }
nav li.toc-3 { padding-left: 1rem; }
nav a { color: #0b4f9c; text-decoration: none; }
main { margin-left: 19rem; max-width: 60rem; padding: 1rem 2rem 4rem; }
h2 { border-bottom: 2px solid #0b4f9c; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { margin-top: 2rem; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 90%; background: #f0f0f3; padding: 0 .2em; }
.code { position: relative; }
pre { background: #1e1f24; color: #e8e8ea; padding: .8rem 1rem; overflow: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
pre[data-lang="dns"] { background: #24321f; }
button.copy { position: absolute; top: .4rem; right: .4rem; font-size: 12px; padding: .1rem .5rem; cursor: pointer; }
@media print { nav, button.copy { display: none; } main { margin: 0; } }
</style>
</head>
<body>
<nav aria-label="contents"><strong>Contents</strong><ul id="toc">
${nav}
</ul></nav>
<main>
${body.join("\n")}
</main>
<script>
// Copy a block exactly as it stands: the same text a reader would select.
for (const b of document.querySelectorAll("button.copy")) {
  b.addEventListener("click", async () => {
    const text = b.nextElementSibling.textContent;
    try { await navigator.clipboard.writeText(text); b.textContent = "copied"; }
    catch { const r = document.createRange(); r.selectNodeContents(b.nextElementSibling); const s = getSelection(); s.removeAllRanges(); s.addRange(r); b.textContent = "selected: press Ctrl+C"; }
    setTimeout(() => { b.textContent = "copy"; }, 1500);
  });
}
</script>
</body>
</html>
`;
}
