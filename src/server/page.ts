/**
 * GET /: a small page, served by the server itself with no build step and no outside assets,
 * where a person types sentences (one per line) and sees their cosine-similarity matrix as a
 * heatmap. It calls POST /embed (normalised vectors, so cosine is a dot product). Below, a typed
 * text's tokens with a bar each for what the pooling gives them (POST /explain), and the API's
 * routes. A test checkpoint's seeded random weights are said plainly, as the CLI says them.
 */
import { createHash } from "node:crypto";

const STYLE = `
  :root { font-family: system-ui, sans-serif; color: #1d232b; background: #f6f7f9; }
  body { max-width: 980px; margin: 24px auto; padding: 0 16px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #model { color: #5b6573; font-size: 13px; margin-bottom: 14px; min-height: 1em; }
  textarea { width: 100%; box-sizing: border-box; height: 150px; font: 14px/1.45 ui-monospace, monospace; padding: 8px; border: 1px solid #c9ced6; border-radius: 6px; }
  .row { display: flex; gap: 10px; align-items: center; margin: 10px 0 18px; }
  button { font-size: 14px; padding: 7px 16px; border: 0; border-radius: 6px; background: #2f6fde; color: white; cursor: pointer; }
  button:disabled { background: #9db5e3; }
  #status { font-size: 13px; color: #5b6573; }
  #status.error { color: #b3261e; }
  #keybox { display: none; gap: 6px; align-items: center; font-size: 13px; }
  #keybox input { font: 13px ui-monospace, monospace; padding: 5px; width: 260px; }
  table { border-collapse: separate; border-spacing: 2px; }
  th { font-weight: 500; font-size: 12px; color: #3c4550; }
  th.rowhead { text-align: right; max-width: 260px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding-right: 6px; }
  td.cell { width: 58px; height: 40px; text-align: center; font: 12px ui-monospace, monospace; border-radius: 3px; }
  td.cell.self { background: #e4e7eb; color: #8a939f; }
  #random { display: none; margin: 0 0 14px; padding: 8px 12px; border-radius: 6px; background: #fff4e5; border: 1px solid #f0b45b; color: #6b3d00; font-size: 13px; }
  #api { margin-top: 32px; font-size: 13px; color: #3c4550; }
  #api code, #api a { font: 12px ui-monospace, monospace; }
  #api ul { margin: 4px 0; padding-left: 18px; }
  .legend { display: flex; align-items: center; gap: 8px; font-size: 12px; color: #5b6573; margin-top: 12px; }
  h2 { font-size: 16px; margin: 28px 0 6px; }
  #explain-text { width: 100%; box-sizing: border-box; font: 14px ui-monospace, monospace; padding: 7px; border: 1px solid #c9ced6; border-radius: 6px; }
  #explain td { font: 12px ui-monospace, monospace; padding: 1px 6px; }
  #explain td.value { text-align: right; color: #3c4550; }
  #explain .tokenbar { height: 12px; background: #2f6fde; border-radius: 2px; }
  .legend .bar { width: 220px; height: 12px; border-radius: 3px; background: linear-gradient(to right, rgb(247,251,255), rgb(198,219,239), rgb(107,174,214), rgb(33,113,181), rgb(8,48,107)); }
`;

const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
const KEY = "bert-ts-api-key";

function headers() {
  const h = { "content-type": "application/json" };
  const key = sessionStorage.getItem(KEY);
  if (key) h.authorization = "Bearer " + key;
  return h;
}

function needKey(message) {
  $("keybox").style.display = "flex";
  setStatus(message, true);
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// A sequential palette over the matrix's own range, so small differences stay visible
// (the range is printed on the legend).
const STOPS = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
function color(t) {
  const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
  const k = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - k;
  const c = STOPS[k].map((a, i) => Math.round(a + (STOPS[k + 1][i] - a) * f));
  return "rgb(" + c.join(",") + ")";
}

function render(sentences, vectors) {
  const n = sentences.length;
  const sims = vectors.map((a) => vectors.map((b) => a.reduce((s, x, i) => s + x * b[i], 0)));
  // The colours span the pairs only: each sentence's similarity with itself is 1 and would
  // squeeze every real difference into the palette's lower part.
  const pairs = sims.flatMap((row, i) => row.filter((_, j) => j !== i));
  const lo = pairs.length > 0 ? Math.min(...pairs) : 1;
  const hi = pairs.length > 0 ? Math.max(...pairs) : 1;
  const scale = (v) => (hi - lo > 1e-9 ? (v - lo) / (hi - lo) : 1);
  $("lo").textContent = lo.toFixed(2);
  $("hi").textContent = hi.toFixed(2);
  const table = document.createElement("table");
  table.id = "heatmap";
  const head = table.insertRow();
  head.appendChild(document.createElement("th"));
  for (let j = 0; j < n; j++) {
    const th = document.createElement("th");
    th.textContent = String(j + 1);
    th.title = sentences[j];
    head.appendChild(th);
  }
  for (let i = 0; i < n; i++) {
    const tr = table.insertRow();
    const th = document.createElement("th");
    th.className = "rowhead";
    th.textContent = (i + 1) + ". " + sentences[i];
    th.title = sentences[i];
    tr.appendChild(th);
    for (let j = 0; j < n; j++) {
      const td = tr.insertCell();
      const v = sims[i][j];
      td.className = i === j ? "cell self" : "cell";
      td.dataset.value = String(v);
      if (i !== j) {
        td.style.background = color(scale(v));
        td.style.color = scale(v) > 0.55 ? "white" : "#1d232b";
      }
      td.textContent = v.toFixed(2);
      td.title = sentences[i] + "\\n" + sentences[j] + "\\ncosine " + v.toFixed(4);
    }
  }
  $("result").replaceChildren(table);
}

async function compare() {
  const sentences = $("sentences").value.split("\\n").map((s) => s.trim()).filter((s) => s.length > 0);
  if (sentences.length === 0) return setStatus("Type at least one sentence.", true);
  $("go").disabled = true;
  setStatus("Embedding " + sentences.length + " sentences…", false);
  const started = performance.now();
  try {
    const res = await fetch("embed", { method: "POST", headers: headers(), body: JSON.stringify({ inputs: sentences, truncate: true }) });
    const body = await res.json();
    if (res.status === 401) return needKey(body.error || "This server needs an API key.");
    if (!res.ok) return setStatus("Error " + res.status + ": " + (body.error || res.statusText), true);
    render(sentences, body);
    setStatus(sentences.length + "×" + sentences.length + " cosine similarities in " + Math.round(performance.now() - started) + " ms", false);
  } catch (err) {
    setStatus("Request failed: " + err, true);
  } finally {
    $("go").disabled = false;
  }
}

// One row per token: the token, its number, and a bar scaled to the largest.
function renderExplanation(body) {
  const top = Math.max(...body.values);
  const table = document.createElement("table");
  body.tokens.forEach((token, t) => {
    const tr = table.insertRow();
    tr.className = "token";
    const v = body.values[t];
    tr.dataset.value = String(v);
    tr.insertCell().textContent = token;
    const num = tr.insertCell();
    num.className = "value";
    num.textContent = body.measure === "weight" ? v.toFixed(4) : String(v);
    const bar = document.createElement("div");
    bar.className = "tokenbar";
    bar.style.width = (top > 0 ? (240 * v) / top : 0).toFixed(1) + "px";
    tr.insertCell().appendChild(bar);
  });
  $("explain").replaceChildren(table);
  $("explain-note").textContent = body.pooling + " pooling: " + (body.measure === "weight" ? "each token's weight in the vector" : "how many dimensions of the vector each token holds the maximum of");
}

async function explain() {
  const text = $("explain-text").value.trim();
  if (text.length === 0) return setStatus("Type a text to explain.", true);
  $("explain-go").disabled = true;
  try {
    const res = await fetch("explain", { method: "POST", headers: headers(), body: JSON.stringify({ inputs: text, truncate: true }) });
    const body = await res.json();
    if (res.status === 401) return needKey(body.error || "This server needs an API key.");
    if (!res.ok) return setStatus("Error " + res.status + ": " + (body.error || res.statusText), true);
    renderExplanation(body);
  } catch (err) {
    setStatus("Request failed: " + err, true);
  } finally {
    $("explain-go").disabled = false;
  }
}

async function loadInfo() {
  const res = await fetch("info", { headers: headers() });
  if (res.status === 401) return needKey("This server needs an API key.");
  if (!res.ok) return;
  const info = await res.json();
  const pooling = info.model_type && info.model_type.embedding ? info.model_type.embedding.pooling : "";
  $("model").textContent = info.model_id + (pooling ? " · " + pooling + " pooling" : "") + " · up to " + info.max_input_length + " tokens · bert-ts " + info.version;
  const models = info.bert_ts ? [info.bert_ts.embedding, info.bert_ts.classifier].filter((m) => m) : [];
  const random = models.filter((m) => m.random_weights).map((m) => m.model_id);
  if (random.length > 0) {
    $("random").textContent = random.join(" and ") + (random.length > 1 ? " hold" : " holds") + " seeded RANDOM weights (a test checkpoint): the arithmetic is exact, but the similarities carry no meaning.";
    $("random").style.display = "block";
  }
}

$("go").addEventListener("click", compare);
$("explain-go").addEventListener("click", explain);
$("explain-text").addEventListener("keydown", (e) => { if (e.key === "Enter") explain(); });
$("sentences").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) compare(); });
$("savekey").addEventListener("click", () => {
  sessionStorage.setItem(KEY, $("key").value.trim());
  $("keybox").style.display = "none";
  loadInfo().then(compare);
});
loadInfo().then(compare);
`;

const EXAMPLES = [
  "A man is playing a guitar.",
  "Someone is playing an instrument.",
  "The cat sleeps on the sofa.",
  "A kitten is napping on the couch.",
  "Stock markets fell sharply today.",
];

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bert-ts · sentence similarity</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Sentence similarity</h1>
<div id="model"></div>
<div id="random" role="alert"></div>
<textarea id="sentences" spellcheck="false" aria-label="Sentences, one per line">${EXAMPLES.join("\n")}</textarea>
<div class="row">
  <button id="go">Compare</button>
  <span id="keybox"><label for="key">API key</label><input id="key" type="password" autocomplete="off"><button id="savekey">Use key</button></span>
  <span id="status"></span>
</div>
<div id="result"></div>
<div class="legend"><span id="lo"></span><span class="bar"></span><span id="hi"></span><span>cosine similarity of the sentence embeddings, coloured from the lowest to the highest pair (a sentence with itself, always 1, in grey; one sentence per line; Ctrl+Enter to compare)</span></div>
<h2>What the pooling looks at</h2>
<div class="row">
  <input id="explain-text" spellcheck="false" aria-label="A text to explain" value="${EXAMPLES[0]}">
  <button id="explain-go">Explain</button>
</div>
<div id="explain-note" class="legend"></div>
<div id="explain"></div>
<div id="api">
  <h2>API</h2>
  Read: ${["info", "health", "ready", "metrics", "v1/models"].map((r) => `<a href="${r}">/${r}</a>`).join(" · ")}
  <ul>
    <li>text-embeddings-inference: ${["/", "/embed", "/embed_all", "/embed_sparse", "/similarity", "/predict", "/rerank", "/tokenize", "/decode"].map((r) => `<code>POST ${r}</code>`).join(", ")}</li>
    <li>OpenAI: <code>POST /v1/embeddings</code>, <code>GET /v1/models</code></li>
    <li>bert-ts: <code>POST /explain</code> (what the pooling looks at)</li>
  </ul>
  JSON bodies; with an API key, send <code>Authorization: Bearer &lt;key&gt;</code>. See the README's server section for every field.
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** Only this page's own inline script may run, and it may only call this server. */
const CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash("sha256").update(SCRIPT).digest("base64")}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

export const PAGE = { html: HTML, contentSecurityPolicy: CSP };
