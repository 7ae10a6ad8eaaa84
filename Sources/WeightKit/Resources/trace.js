const T = JSON.parse(document.getElementById('trace-data').textContent);
const el = (tag, attrs, text) => { const e = document.createElement(tag); for (const k in (attrs || {})) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; };
const piece = s => el('span', {class: 'piece'}, s);
const pct = p => (100 * p).toFixed(p < 0.001 ? 3 : 1) + '%';
const row = (table, cells, head) => { const tr = el('tr'); for (const c of cells) { const td = el(head ? 'th' : 'td'); if (c instanceof Node) td.appendChild(c); else td.textContent = c; tr.appendChild(td); } table.appendChild(tr); return tr; };
document.getElementById('title').textContent = 'weightkit trace · ' + T.model + ' (' + T.family + ', ' + T.layers + ' layers × ' + T.heads + ' heads)';

// 1. tokens
const tokens = document.getElementById('tokens');
row(tokens, ['#', 'id', 'token', 'norm', 'nearest tokens (cosine)'], true);
T.tokens.forEach((t, i) => {
  const near = el('span'); t.neighbours.forEach(n => { near.appendChild(piece(n.piece)); near.appendChild(document.createTextNode(' ' + n.score.toFixed(2) + '  ')); });
  row(tokens, [String(i), String(t.id), piece(t.piece), t.embeddingNorm.toFixed(3), near]);
});

// 2. attention heatmaps
const tip = document.getElementById('tip');
const layerSelect = document.getElementById('layer');
const traced = T.layerTrace.filter(l => l.heads.length > 0);
traced.forEach(l => layerSelect.appendChild(el('option', {value: l.layer}, 'layer ' + l.layer)));
const MAX = 256;
function heatmap(h) {
  const n = h.weights.length, size = Math.min(n, MAX), bin = n / size, scale = Math.max(1, Math.floor(200 / size));
  const canvas = el('canvas', {width: size, height: size});
  canvas.style.width = canvas.style.height = (size * scale) + 'px';
  const ctx = canvas.getContext('2d'), img = ctx.createImageData(size, size);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) {  // a decoder's rows stop at the diagonal, an encoder's do not
    let w = 0;
    for (let i = Math.floor(r * bin); i < Math.floor((r + 1) * bin); i++) for (let j = Math.floor(c * bin); j < Math.min(Math.floor((c + 1) * bin), h.weights[i].length); j++) w = Math.max(w, h.weights[i][j]);
    const v = Math.round(255 * (1 - Math.sqrt(w))), o = 4 * (r * size + c);
    img.data[o] = v; img.data[o + 1] = v; img.data[o + 2] = 255; img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  canvas.addEventListener('mousemove', e => {
    const b = canvas.getBoundingClientRect();
    const i = Math.min(n - 1, Math.floor((e.clientY - b.top) / b.height * n)), j = Math.min(n - 1, Math.floor((e.clientX - b.left) / b.width * n));
    tip.textContent = j < h.weights[i].length ? (JSON.stringify(T.tokens[i].piece) + ' → ' + JSON.stringify(T.tokens[j].piece) + '  ' + h.weights[i][j].toFixed(3)) : 'masked (future)';
    tip.style.left = (e.clientX + 12) + 'px'; tip.style.top = (e.clientY + 12) + 'px'; tip.style.display = 'block';
  });
  canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  return canvas;
}
function showLayer(index) {
  const box = document.getElementById('heads'); box.replaceChildren();
  const layer = T.layerTrace[index];
  layer.heads.forEach(h => {
    const d = el('div', {class: 'head'}); d.appendChild(heatmap(h));
    d.appendChild(el('div', {}, 'head ' + h.head + ' · H ' + h.entropy.toFixed(2) + ' bits'));
    const top = el('div', {class: 'muted'}); h.top.slice(0, 3).forEach(a => { top.appendChild(piece(T.tokens[a.position].piece)); top.appendChild(document.createTextNode(' ' + a.weight.toFixed(2) + ' ')); });
    d.appendChild(top); box.appendChild(d);
  });
}
layerSelect.addEventListener('change', () => showLayer(Number(layerSelect.value)));
if (traced.length > 0) showLayer(traced[0].layer);

// 3. norms line chart and neurons
(function () {
  const W = 760, H = 240, P = 36, L = T.layerTrace, ns = 'http://www.w3.org/2000/svg';
  const series = [['residualNorm', '#222', 'residual'], ['attentionNorm', '#d0584a', 'attention added'], ['mlpNorm', '#4a7bd0', 'MLP added']];
  const max = Math.max(1e-6, ...L.flatMap(l => series.map(s => l[s[0]])));
  const svg = document.createElementNS(ns, 'svg'); svg.setAttribute('width', W); svg.setAttribute('height', H);
  const x = i => P + (L.length > 1 ? i * (W - 2 * P) / (L.length - 1) : (W - 2 * P) / 2), y = v => H - P - v / max * (H - 2 * P);
  const add = (tag, attrs, text) => { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; svg.appendChild(e); return e; };
  add('line', {x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: '#999'}); add('line', {x1: P, y1: P, x2: P, y2: H - P, stroke: '#999'});
  add('text', {x: 2, y: P}, max.toFixed(1)); add('text', {x: W / 2 - 20, y: H - 6}, 'layer');
  L.forEach((l, i) => { if (L.length <= 32 || i % 4 == 0) add('text', {x: x(i) - 4, y: H - P + 14}, String(l.layer)); });
  series.forEach((s, k) => {
    add('polyline', {fill: 'none', stroke: s[1], 'stroke-width': 2, points: L.map((l, i) => x(i) + ',' + y(l[s[0]])).join(' ')});
    add('text', {x: P + 12, y: P + 14 * k, fill: s[1]}, s[2]);
  });
  document.getElementById('norms').appendChild(svg);
  const table = document.getElementById('neurons');
  row(table, ['layer', 'attention', 'MLP', 'residual', 'top MLP neurons at the last position (index: activation)'], true);
  L.forEach(l => row(table, [String(l.layer), l.attentionNorm.toFixed(2), l.mlpNorm.toFixed(2), l.residualNorm.toFixed(2), l.topNeurons.map(n => n.index + ': ' + n.activation.toFixed(2)).join('  ')]));
})();

// 4. next-token bars and the logit lens
const next = document.getElementById('next'), bars = el('table');
T.next.forEach(c => { const bar = el('span', {class: 'bar'}); bar.style.width = Math.max(1, 300 * c.score) + 'px'; row(bars, [piece(c.piece), bar, pct(c.score)]); });
next.appendChild(bars);
const answer = T.next.length ? T.next[0] : null, lens = document.getElementById('lens');
if (T.embedding) {  // an encoder: its pooled embedding, no next token and no logit lens
  document.querySelector('#s-unembedding h2').textContent = '4 · Pooling (' + T.pooling + ')';
  lens.previousElementSibling.remove(); lens.previousElementSibling.remove();
  const norm = Math.sqrt(T.embedding.reduce((s, x) => s + x * x, 0));
  next.appendChild(el('p', {}, 'Sentence embedding: ' + T.embedding.length + ' values, norm ' + norm.toFixed(4) + ': [' + T.embedding.slice(0, 8).map(x => x.toFixed(4)).join(', ') + ', …]'));
}
if (!T.embedding) row(lens, ['layer', 'top token', 'probability', 'next best', answer ? 'p(' + JSON.stringify(answer.piece) + ')' : '', 'rank'], true);
if (!T.embedding) T.layerTrace.forEach(l => {
  const top = l.lens[0], second = el('span');
  l.lens.slice(1, 4).forEach(c => { second.appendChild(piece(c.piece)); second.appendChild(document.createTextNode(' ')); });
  const tr = row(lens, [String(l.layer), piece(top.piece), pct(top.score), second, pct(l.finalTokenProbability), String(l.finalTokenRank)]);
  if (answer && top.id === answer.id) tr.className = 'hit';
});
if (T.emergenceLayer !== null) next.appendChild(el('p', {}, JSON.stringify(answer.piece) + ' is the logit lens top-1 from layer ' + T.emergenceLayer + ' on.'));
