// The demo page's UI: a toy tokenizer (words, single punctuation marks and
// runs of whitespace, each distinct piece one id) and a worker that owns the
// suffix cache.
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const vocab = new Map();
const pieces = [];
const tokenize = (text) => (text.match(/\w+|\s+|[^\w\s]/g) ?? []).map((piece) => {
  let id = vocab.get(piece);
  if (id === undefined) {
    id = pieces.length;
    vocab.set(piece, id);
    pieces.push(piece);
  }
  return id;
});

const $ = (id) => document.getElementById(id);
let latest = 0;

function update() {
  const documents = $("corpus").value.split(/\n\s*\n/).filter((p) => p.trim() !== "").map(tokenize);
  const text = $("context").value;
  $("typed").textContent = text;
  worker.postMessage({ id: ++latest, documents, context: tokenize(text) });
}

worker.onmessage = ({ data }) => {
  if (data.id !== latest) return;
  const { tokenIds, probs, score, matchLen } = data.draft;
  $("draft").textContent = tokenIds.map((t) => pieces[t]).join("");
  $("stats").textContent = tokenIds.length === 0
    ? "no draft: the end of your text does not occur in the earlier text"
    : `${tokenIds.length} draft tokens, matched the last ${matchLen} tokens, expected accepted ${score.toFixed(2)}, ` +
      `token probabilities ${probs.map((p) => p.toFixed(2)).join(" ")}`;
  document.body.dataset.ready = "1";
};
worker.onerror = (e) => { $("stats").textContent = `worker failed: ${e.message}`; };

$("corpus").addEventListener("input", update);
$("context").addEventListener("input", update);
update();
