// The search page: a client of the public API and nothing else. Offsets are asked for in
// UTF-16 units (offset_encoding), JavaScript's own, so text.slice(start, end) is exact.
"use strict";

const KEY_STORAGE = "semsearch.apiKey";
const $ = (id) => document.getElementById(id);

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

class Problem extends Error {
  constructor(status, body) {
    super(body && body.title ? body.title : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (_) {
    parsed = { title: `HTTP ${response.status}`, detail: text.slice(0, 300) };
  }
  if (!response.ok) throw new Problem(response.status, parsed);
  return parsed;
}

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null) node.append(child);
  return node;
}

function showProblem(error) {
  const box = $("problem");
  box.replaceChildren();
  if (error instanceof Problem) {
    const body = error.body;
    box.append(element("strong", { text: `${error.status} ${body.title || ""}` }));
    if (body.detail) box.append(element("p", { text: body.detail }));
    const fields = (body.errors || []).map((e) =>
      element("li", { text: `${e.field}: ${e.message}` }),
    );
    if (fields.length) box.append(element("ul", {}, ...fields));
    if (error.status === 401 || error.status === 403) {
      box.append(element("p", { text: "Enter an API key under \u201cAPI key\u201d above." }));
    }
  } else {
    box.append(element("strong", { text: "The service did not answer." }));
    box.append(element("p", { text: String(error.message || error) }));
  }
  box.hidden = false;
}

function clearProblem() {
  $("problem").hidden = true;
  $("problem").replaceChildren();
}

// Words too common to be worth marking (the lexical index ignores them too).
const STOPWORDS = new Set(
  "a an and are as at be but by for from has have in into is it its of on or that the their this to was were which with".split(" "),
);

// The query's words marked in a passage, matched case-insensitively on whole words.
function markWords(text, query) {
  const words = [
    ...new Set((query.match(/[\p{L}\p{N}]{2,}/gu) || []).map((w) => w.toLowerCase())),
  ].filter((w) => !STOPWORDS.has(w));
  if (!words.length) return [document.createTextNode(text)];
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join("|")})(?![\\p{L}\\p{N}])`, "giu");
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    nodes.push(document.createTextNode(text.slice(last, match.index)));
    nodes.push(element("mark", { className: "term", text: match[0] }));
    last = match.index + match[0].length;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

// Spans [{start, end, className, label}] marked in text (offsets in UTF-16 units); the text
// between them goes through between(text) (plain by default).
function markSpans(text, spans, between = (t) => [document.createTextNode(t)]) {
  const nodes = [];
  let last = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < last) continue; // overlapping evidence: the first one wins
    nodes.push(...between(text.slice(last, span.start)));
    const mark = element("mark", { className: span.className, text: text.slice(span.start, span.end) });
    if (span.label) mark.setAttribute("title", span.label);
    nodes.push(mark);
    last = span.end;
  }
  nodes.push(...between(text.slice(last)));
  return nodes;
}

function citationLine(citation, extra) {
  const parts = [citation.title || citation.document_id, citation.source, citation.published_at];
  return element(
    "p",
    { className: "citation" },
    element("span", { className: "title", text: parts[0] }),
    element("span", { text: parts.slice(1).filter(Boolean).join(" \u00b7 ") }),
    element("span", { className: "score", text: extra }),
  );
}

function openButton(citation, spans) {
  const button = element("button", { type: "button", text: "Open document" });
  button.setAttribute("aria-label", `Open document ${citation.title || citation.document_id}`);
  button.addEventListener("click", () => openDocument(citation.document_id, spans));
  return button;
}

async function search(event) {
  event.preventDefault();
  clearProblem();
  const query = $("query").value;
  const filters = {};
  if ($("source").value.trim()) filters.sources = [$("source").value.trim()];
  if ($("after").value) filters.published_after = $("after").value;
  if ($("before").value) filters.published_before = $("before").value;
  const body = {
    query,
    k: Number($("k").value) || 10,
    mode: $("mode").value,
    offset_encoding: "utf-16",
  };
  if ($("per-document").checked) body.group_by = "document";
  if (Object.keys(filters).length) body.filters = filters;
  $("search-status").textContent = "Searching\u2026";
  try {
    const result = await api("POST", "/v1/search", body);
    $("hits").replaceChildren(
      ...result.hits.map((hit) => {
        const c = hit.citation;
        const span = [{ start: c.char_start, end: c.char_end, className: "cited", label: "cited passage" }];
        // The best-matching sentences marked in the passage, the query's words in the rest.
        const marks = hit.highlights.map((h) => ({
          start: h.char_start - c.char_start,
          end: h.char_end - c.char_start,
          className: "highlight",
          label: `best match (score ${h.score.toFixed(3)})`,
        }));
        return element(
          "li",
          {},
          citationLine(c, `score ${hit.score.toFixed(3)}`),
          element("p", { className: "passage" }, ...markSpans(hit.text, marks, (t) => markWords(t, query))),
          openButton(c, span),
        );
      }),
    );
    $("search-status").textContent = `${result.hits.length} hits`;
  } catch (error) {
    $("search-status").textContent = "";
    showProblem(error);
  }
}

async function checkClaim(event) {
  event.preventDefault();
  clearProblem();
  try {
    const result = await api("POST", "/v1/passages/support", {
      claim: $("claim").value,
      k: 5,
      offset_encoding: "utf-16",
    });
    $("verdict").textContent = result.verdict;
    $("verdict").dataset.verdict = result.verdict;
    $("scores").textContent =
      `(support ${result.support.toFixed(3)}, contradiction ${result.contradiction.toFixed(3)})`;
    $("verdict-panel").hidden = false;
    $("passages").replaceChildren(
      ...result.passages.map((passage) => {
        const c = passage.citation;
        const spans = passage.evidence.map((e) => ({
          start: e.char_start,
          end: e.char_end,
          className: `evidence ${e.stance}`,
          label: `evidence (${e.stance} ${e.stance_probability.toFixed(2)}, score ${e.score.toFixed(3)})`,
        }));
        const inPassage = spans.map((s) => ({ ...s, start: s.start - c.char_start, end: s.end - c.char_start }));
        return element(
          "li",
          {},
          citationLine(
            c,
            `support ${passage.support.toFixed(3)}, contradiction ${passage.contradiction.toFixed(3)}`,
          ),
          element("p", { className: "passage" }, ...markSpans(passage.text, inPassage)),
          openButton(c, spans),
        );
      }),
    );
  } catch (error) {
    $("verdict-panel").hidden = true;
    showProblem(error);
  }
}

async function openDocument(documentId, spans) {
  clearProblem();
  try {
    const doc = await api(
      "GET",
      `/v1/documents/${encodeURIComponent(documentId)}?offset_encoding=utf-16`,
    );
    const meta = [
      ["Title", doc.title],
      ["Id", doc.id],
      ["Source", doc.source],
      ["Published", doc.published_at],
      ["URL", doc.url],
    ].filter(([, value]) => value);
    $("document-meta").replaceChildren(
      ...meta.flatMap(([name, value]) => [element("dt", { text: name }), element("dd", { text: value })]),
    );
    $("document-text").replaceChildren(...markSpans(doc.text, spans));
    $("document-view").hidden = false;
    const first = $("document-text").querySelector("mark");
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.scrollIntoView({ block: "center" });
      first.focus({ preventScroll: true });
    } else {
      $("document-text").focus();
    }
  } catch (error) {
    showProblem(error);
  }
}

function useKey(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  $("api-key").value = "";
  $("api-key").placeholder = key ? "a key is set for this tab" : "";
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  $("api-key").value = "";
  $("api-key").placeholder = "";
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", search);
  $("claim-form").addEventListener("submit", checkClaim);
  $("key-form").addEventListener("submit", useKey);
  $("forget-key").addEventListener("click", forgetKey);
  if (apiKey()) $("api-key").placeholder = "a key is set for this tab";
});
