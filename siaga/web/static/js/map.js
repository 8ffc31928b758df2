// A schematic map of the province drawn as SVG, with no tile server: the outline below is a
// hand-made approximation of Jambi Province (lon, lat), the dots are the seats of the
// kabupaten/kota from the roster, and member positions are drawn live on top.

const SVG = 'http://www.w3.org/2000/svg';

/** Approximate outline of Jambi Province (lon, lat), clockwise from the north-west. */
export const JAMBI_OUTLINE = [
  [101.13, -1.70], [101.45, -1.45], [101.80, -1.28], [102.10, -1.05], [102.45, -0.92], [102.80, -0.90],
  [103.10, -0.82], [103.35, -0.72], [103.55, -0.78], [103.80, -0.95], [104.05, -1.00], [104.30, -1.05],
  [104.48, -1.25], [104.42, -1.55], [104.20, -1.72], [104.00, -1.82], [103.75, -2.05], [103.45, -2.15],
  [103.20, -2.25], [102.95, -2.45], [102.65, -2.62], [102.35, -2.75], [102.05, -2.70], [101.75, -2.55],
  [101.45, -2.42], [101.22, -2.25], [101.08, -2.00],
];

const BOUNDS = { west: 100.95, east: 104.65, north: -0.6, south: -2.9 };
const SCALE = 260; // SVG units per degree of longitude
const COS = Math.cos((((BOUNDS.north + BOUNDS.south) / 2) * Math.PI) / 180);

export const project = (lon, lat) => [
  (lon - BOUNDS.west) * SCALE * COS + 10, (BOUNDS.north - lat) * SCALE + 10,
];

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

export class ProvinceMap {
  constructor(container, regions, title) {
    const [w] = project(BOUNDS.east, BOUNDS.south);
    const [, h] = project(BOUNDS.west, BOUNDS.south);
    this.svg = el('svg', { viewBox: `0 0 ${Math.round(w + 10)} ${Math.round(h + 10)}`, role: 'img', 'aria-labelledby': 'map-title' });
    this.title = el('title', { id: 'map-title' }, title);
    this.svg.append(this.title);
    const points = JAMBI_OUTLINE.map(([lon, lat]) => project(lon, lat).map((v) => v.toFixed(1)).join(',')).join(' ');
    this.svg.append(el('polygon', { points, class: 'province' }));
    const seats = el('g', { class: 'seats' });
    for (const r of regions) {
      const [x, y] = project(r.lon, r.lat);
      const g = el('g', { class: 'seat', 'data-region': r.code });
      g.append(el('circle', { cx: x, cy: y, r: 4 }), el('text', { x: x + 6, y: y - 6 }, r.name.replace(/^Kabupaten /, '')));
      seats.append(g);
    }
    this.svg.append(seats);
    this.layer = el('g', { class: 'positions' });
    this.svg.append(this.layer);
    container.replaceChildren(this.svg);
    this.markers = new Map();
  }

  setTitle(text) { this.title.textContent = text; }

  /** Draw or move one member's marker; `label` names it for sighted and screen-reader users. */
  place(member, lat, lon, label) {
    const [x, y] = project(lon, lat);
    let g = this.markers.get(member);
    if (!g) {
      g = el('g', { class: 'member', 'data-member': member });
      g.append(el('title'), el('path', { d: 'M0,0 l-6,-14 a6.5,6.5 0 1,1 12,0 z' }), el('text', { x: 8 }));
      this.layer.append(g);
      this.markers.set(member, g);
    }
    g.dataset.x = x;
    g.dataset.y = y;
    // Labels go below the pin (the seat's name is above it), stacked when members share a spot.
    const before = [...this.markers.values()];
    const row = before.slice(0, before.indexOf(g)).filter((o) => Math.hypot(o.dataset.x - x, o.dataset.y - y) < 4).length;
    g.querySelector('text').setAttribute('y', String(14 + 15 * row));
    g.setAttribute('transform', `translate(${x.toFixed(1)},${y.toFixed(1)})`);
    g.querySelector('title').textContent = label;
    g.querySelector('text').textContent = label;
  }
}
