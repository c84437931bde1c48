// docs/privacy.md as the member pages show it (/account/privacy): one text for
// the repository and the pod, so what members read is what the docs say. Only
// the Markdown that file uses: headings, paragraphs, "- " lists, `code`,
// **bold** and links (a link into this repository becomes its words: the pod
// serves no repository). Everything else is escaped text.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { escapeHtml } from "../../lib/howto/html";
import { REPO_ROOT } from "../../lib/paths";

export const PRIVACY_DOC = join(REPO_ROOT, "docs", "privacy.md");

function inline(s: string): string {
  return s.split(/(`[^`]+`)/).map((part) => {
    if (part.length > 1 && part.startsWith("`") && part.endsWith("`")) return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
    return escapeHtml(part)
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, text: string, url: string) => (/^https:\/\//.test(url) ? `<a href="${url}">${text}</a>` : text));
  }).join("");
}

/** The Markdown as HTML, with `$` doubled: podkit-account-web fills the page as a Python string.Template. */
export function privacyHtml(markdown = readFileSync(PRIVACY_DOC, "utf8")): string {
  const out: string[] = [];
  let para: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`);
    if (list.length) out.push(`<ul>\n${list.map((i) => `<li>${inline(i)}</li>`).join("\n")}\n</ul>`);
    para = [];
    list = [];
  };
  for (const line of markdown.split("\n")) {
    const heading = /^(#{1,4}) (.*)$/.exec(line);
    if (heading) {
      flush();
      out.push(`<h${heading[1].length}>${inline(heading[2])}</h${heading[1].length}>`);
    } else if (/^- /.test(line)) {
      if (para.length) flush();
      list.push(line.slice(2));
    } else if (/^ {2,}\S/.test(line) && list.length) {
      list[list.length - 1] += ` ${line.trim()}`;
    } else if (!line.trim()) {
      flush();
    } else {
      if (list.length) flush();
      para.push(line.trim());
    }
  }
  flush();
  return out.join("\n").replaceAll("$", "$$$$");
}
