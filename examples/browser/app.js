// The example page: load a model (URL, folder, dropped files), embed the typed sentences in a
// Worker with several poolings, and draw each pooling's cosine-similarity heatmap side by side.
import { WorkerSentenceEncoder, cosineSimilarity } from "../../dist/browser/bert-ts.js";

const $ = (id) => document.getElementById(id);
const status = (text) => ($("status").textContent = text);
let encoder;

async function load(location, label) {
  encoder?.dispose();
  encoder = undefined;
  $("embed").disabled = true;
  status(`Loading ${label} …`);
  const started = performance.now();
  try {
    encoder = await WorkerSentenceEncoder.load(location, {
      onDownload: (p) => status(`Loading ${label}: ${p.file} ${p.cached ? "(from the browser cache)" : `${(p.loaded / 1e6).toFixed(1)}${p.total ? ` / ${(p.total / 1e6).toFixed(1)}` : ""} MB`}`),
    });
  } catch (err) {
    status(`Could not load ${label}: ${err.message}`);
    return;
  }
  const i = encoder.info;
  status(`Loaded ${encoder.dir} in ${((performance.now() - started) / 1000).toFixed(1)} s: ${i.dimension} dims, ${i.strategy} pooling (${i.source}), ${encoder.backend} kernels.`);
  $("embed").disabled = false;
}

$("load-url").onclick = () => {
  const url = $("url").value.trim() || $("url").placeholder;
  load(new URL(url, location.href).href, url);
};
$("folder").onchange = (e) => e.target.files.length && load(e.target.files, `${e.target.files.length} files`);
const drop = $("drop");
drop.ondragover = (e) => (e.preventDefault(), drop.classList.add("over"));
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  load([...e.dataTransfer.files], `${e.dataTransfer.files.length} dropped files`);
};

$("embed").onclick = async () => {
  const texts = $("texts").value.split("\n").map((t) => t.trim()).filter(Boolean);
  if (texts.length === 0) return status("Type at least one sentence.");
  const poolings = [...new Set([encoder.info.strategy, "cls", "mean", "max"])];
  $("maps").replaceChildren();
  const started = performance.now();
  for (const pooling of poolings) {
    const vectors = await encoder.embed(texts, { pooling, normalize: true });
    const scores = vectors.map((a) => vectors.map((b) => cosineSimilarity(a, b)));
    $("maps").append(heatmap(`${pooling}${pooling === encoder.info.strategy ? " (the model's own)" : ""}`, texts, scores));
  }
  status(`${texts.length} sentences × ${poolings.length} poolings in ${((performance.now() - started) / 1000).toFixed(2)} s (${encoder.backend}).`);
};

function heatmap(title, texts, scores) {
  const n = texts.length;
  const cell = Math.max(24, Math.min(56, Math.floor(280 / n)));
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = n * cell;
  const ctx = canvas.getContext("2d");
  ctx.font = `${Math.floor(cell / 3)}px system-ui`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const s = scores[r][c];
      const t = Math.max(0, Math.min(1, (s + 1) / 2));
      ctx.fillStyle = `rgb(${Math.round(255 * t)}, ${Math.round(80 + 60 * (1 - Math.abs(s)))}, ${Math.round(255 * (1 - t))})`;
      ctx.fillRect(c * cell, r * cell, cell, cell);
      ctx.fillStyle = "#fff";
      ctx.fillText(s.toFixed(2), c * cell + cell / 2, r * cell + cell / 2);
    }
  }
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.title = texts.map((t, i) => `${i + 1}. ${t}`).join("\n");
  figure.append(caption, canvas);
  return figure;
}
