// Model text -> what people read: Markdown (markdown-it) with math (KaTeX), all of it sanitised
// (DOMPurify) because model output is untrusted input to this page. The three libraries are
// vendored files (`make web`); where any is missing, text stays plain, which is always safe.
"use strict";

const Render = (() => {
  const rich = typeof markdownit === "function" && typeof katex === "object" && typeof DOMPurify === "function";

  // Opening delimiter, closing delimiter, display mode; the longer `$$` is tried before `$`.
  const MATH = [["$$", "$$", true], ["\\[", "\\]", true], ["\\(", "\\)", false], ["$", "$", false]];

  function tex(source, display) {
    // trust: false keeps \href, \url, \includegraphics and \html* off; maxExpand and maxSize
    // bound the macro expansion and the sizes a reply can ask for; errors show as red text.
    const html = katex.renderToString(source, { displayMode: display, throwOnError: false, trust: false,
                                                 strict: "ignore", maxExpand: 1000, maxSize: 50 });
    // R1-style models put their final answer in \boxed{}: highlight the math holding it.
    return /\\boxed\s*\{/.test(source) ? `<span class="answer" title="Final answer">${html}</span>` : html;
  }

  // `$5 and $6` is money, not math: like pandoc, `$` math starts and ends next to a non-space,
  // and a closing `$` is not followed by a digit.
  function dollarsAreMath(src, inner, after) {
    return !/^\s|\s$/.test(inner) && !/\d/.test(src[after] || "");
  }

  // The index just past the `}` that closes the brace opened before `from`, or -1.
  function closingBrace(src, from) {
    for (let depth = 1, i = from; i < src.length; i++) {
      if (src[i] === "\\") i++;
      else if (src[i] === "{") depth++;
      else if (src[i] === "}" && --depth === 0) return i + 1;
    }
    return -1;
  }

  // Inline rule, run before markdown's backslash escapes so `\(` and `\[` reach it intact. Math
  // that is not closed yet (a reply still streaming) stays text until its closing delimiter comes.
  function mathRule(state, silent) {
    const src = state.src, pos = state.pos;
    let end = -1, source = "", display = false;
    for (const [open, close, block] of MATH) {
      if (!src.startsWith(open, pos)) continue;
      const stop = src.indexOf(close, pos + open.length);
      const inner = src.slice(pos + open.length, stop);
      if (stop < 0 || !inner.trim() || (open === "$" && !dollarsAreMath(src, inner, stop + 1))) continue;
      [end, source, display] = [stop + close.length, inner, block];
      break;
    }
    if (end < 0 && src.startsWith("\\boxed{", pos)) {  // a bare \boxed{...} outside any math
      end = closingBrace(src, pos + "\\boxed{".length);
      source = src.slice(pos, end);
    }
    if (end < 0) return false;
    if (!silent) Object.assign(state.push("math", "", 0), { content: source, meta: { display } });
    state.pos = end;
    return true;
  }

  function parser() {
    // html: false shows raw HTML as text; images are off so a reply cannot make the page fetch
    // a URL; markdown-it's own link check already refuses javascript:, vbscript:, file: and data:.
    const md = markdownit({ html: false, linkify: true, breaks: true }).disable("image");
    md.inline.ruler.before("escape", "math", mathRule);
    md.renderer.rules.math = (tokens, i) => tex(tokens[i].content, tokens[i].meta.display);
    return md;
  }

  function sanitizer() {
    // Links leave in a new tab that cannot reach back to this page.
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
      }
    });
    // No <style> (it would restyle the page) and no <img> (a request to any URL), whatever made
    // them. KaTeX's MathML keeps the TeX source in <semantics><annotation> (text only) for
    // screen readers and copying; the HTML-carrying <annotation-xml> stays forbidden.
    return (html) => DOMPurify.sanitize(html, { FORBID_TAGS: ["style", "img"], ADD_TAGS: ["semantics", "annotation"] });
  }

  const md = rich && parser();
  const clean = rich && sanitizer();

  return {
    // Show `text` in `node`. Called again with the longer text as a reply streams: the whole
    // text is parsed each time, so a half-written table or code block is always whole HTML.
    show(node, text) {
      if (!rich) {
        node.textContent = text;
        return;
      }
      node.classList.add("md");
      node.innerHTML = clean(md.render(text));
    },
  };
})();
