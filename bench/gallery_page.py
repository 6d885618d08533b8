"""The gallery's static site: index.html (runs, counts, filters, pager), first.js and entries.js.

The page opens fast however many entries there are: index.html holds the counts and the filters only;
entries.js holds every entry's pre-rendered article (escaped here) and first.js the first page's, so
the first page shows before the script reads entries.js (loaded async); the script then shows the
entries that match the filters, PAGE_SIZE at a time, with every picture a separate file loaded
lazily. Works from file:// (classic <script src>, no fetch), no server, no network.
"""
from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

PAGE_SIZE = 20
"""Entries shown per page of the gallery."""

PAGE_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.2em;color:#222;max-width:1250px}
h2{border-bottom:2px solid #c00;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}
article{display:flex;flex-wrap:wrap;gap:12px;border:1px solid #ddd;padding:8px;margin:10px 0;border-radius:4px}
article img{image-rendering:pixelated;background:#eee}.meta{min-width:320px;flex:1}.meta p{margin:.2em 0}
figure{margin:0}figcaption{font-size:11px;color:#555;max-width:390px}
.scores td:nth-child(4){text-align:left;font-size:11px}.scores summary{cursor:pointer;color:#036;margin:.3em 0}
.plot img{image-rendering:auto}.sheet{flex-basis:100%}.sheet img{max-width:100%;height:auto}
.legend span{margin-right:1em}.sev{font-weight:bold;color:#c00}
.empty{font-size:18px;color:#060;padding:1em;border:2px solid #060}
.pager{margin:.6em 0;font-size:13px}.pager a,.pager span{margin:0 .6em}.pager span.off{color:#aaa}
.filters select{margin-right:1em}
"""

PAGE_SCRIPT = r"""
var EMPTY = {entries: [], scores: {}, units: {}, clips: {}, generators: [], per_tag: 0, page_size: 20, total: 0,
             tag_entries: {}};
var G = window.GALLERY_FIRST || EMPTY, waiting = false;
var KEYS = ['tag', 'family', 'generator'];
function esc(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; });
}
function wanted() {
  var query = new URLSearchParams(location.hash.slice(1)), f = {};
  KEYS.forEach(function (key) { f[key] = query.get(key) || ''; });
  f.page = Math.max(1, parseInt(query.get('page'), 10) || 1);
  return f;
}
function address(f, page) {
  var query = new URLSearchParams();
  KEYS.forEach(function (key) { if (f[key]) query.set(key, f[key]); });
  if (page > 1) query.set('page', page);
  return '#' + query.toString();
}
function matches(entry, f) { return KEYS.every(function (key) { return !f[key] || entry[key] === f[key]; }); }
function clipsWith(tag, f) {
  var total = 0, byGenerator = G.clips[tag] || {};
  Object.keys(byGenerator).forEach(function (generator) {
    if (f.generator && generator !== f.generator) return;
    Object.keys(byGenerator[generator]).forEach(function (family) {
      if (!f.family || family === f.family) total += byGenerator[generator][family]; });
  });
  return total;
}
function pager(f, page, pages, count) {
  function link(to, text) {
    return to >= 1 && to <= pages && to !== page ? '<a href="' + esc(address(f, to)) + '">' + text + '</a>'
                                                 : '<span class="off">' + text + '</span>';
  }
  return link(page - 1, '&#9664; previous') + ' page ' + page + ' of ' + pages + ' (' + count +
         ' entries match) ' + link(page + 1, 'next &#9654;');
}
function scoresTable(rows) {
  if (!rows || !rows.length) return '';
  var notOk = rows.some(function (row) { return row[3] !== 'ok'; });
  function number(value) { return value === null ? '&mdash;' : value.toFixed(3); }
  return '<details class="scores"><summary>the clip\'s scores (' + rows.length + ' metrics)</summary>' +
    '<table><tr><th>metric</th><th>value</th><th>raw</th><th>unit</th>' +
    (notOk ? '<th>status</th><th>reason</th>' : '') + '</tr>' + rows.map(function (row) {
      return '<tr><td>' + esc(row[0]) + '</td><td>' + number(row[1]) + '</td><td>' + number(row[2]) + '</td><td>' +
        esc(G.units[row[0]] || '') + '</td>' + (notOk ? '<td>' + esc(row[3]) + '</td><td>' + esc(row[4]) + '</td>' : '') +
        '</tr>'; }).join('') + '</table></details>';
}
function countImages() {
  var images = Array.prototype.slice.call(document.querySelectorAll('#entries img')), d = document.body.dataset;
  d.imagesTotal = images.length;
  d.imagesDecoded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  d.imagesFailed = images.filter(function (i) { return i.complete && i.naturalWidth === 0; }).length;
}
function render() {
  var f = wanted(), full = G !== window.GALLERY_FIRST || G === EMPTY;
  KEYS.forEach(function (key) { var select = document.getElementById(key); if (select) select.value = f[key]; });
  if (!full && (f.page > 1 || KEYS.some(function (key) { return f[key]; }))) { waiting = true; return; }
  var list = full ? G.entries.filter(function (entry) { return matches(entry, f); }) : G.entries;
  var count = full ? list.length : G.total, perTag = full ? {} : G.tag_entries, parts = [], tag = null;
  if (full) list.forEach(function (entry) { perTag[entry.tag] = (perTag[entry.tag] || 0) + 1; });
  var pages = Math.max(1, Math.ceil(count / G.page_size)), page = Math.min(f.page, pages);
  var shown = full ? list.slice((page - 1) * G.page_size, page * G.page_size) : list;
  shown.forEach(function (entry) {
    if (entry.tag !== tag) {
      if (tag !== null) parts.push('</section>');
      tag = entry.tag;
      parts.push('<section data-tag="' + esc(tag) + '"><h2>' + esc(tag) + ': ' + clipsWith(tag, f) + ' clips (' +
                 perTag[tag] + ' entries, the worst by severity first; at most ' + G.per_tag + ' per tag' +
                 (G.generators.length > 1 ? ' and generator' : '') + ')</h2>');
    }
    parts.push(entry.html.replace('<!--scores-->', scoresTable(G.scores[entry.scores])));
  });
  if (tag !== null) parts.push('</section>');
  var main = document.getElementById('entries');
  main.innerHTML = parts.length ? parts.join('\n') : (G.total ? '<p>No entry matches these filters.</p>' : '');
  document.querySelectorAll('.pager').forEach(function (p) { p.innerHTML = G.total ? pager(f, page, pages, count) : ''; });
  var d = document.body.dataset;
  d.matching = count; d.shown = shown.length; d.page = page; d.pages = pages;
  if (!d.renderMs) d.renderMs = Math.round(performance.now());
  main.querySelectorAll('img').forEach(function (i) {
    i.addEventListener('load', countImages); i.addEventListener('error', countImages); });
  countImages();
}
function allEntriesLoaded() {
  G = window.GALLERY || G;
  document.body.dataset.allEntries = G.entries.length;
  if (waiting) { waiting = false; render(); }
}
function choose() {
  var f = {};
  KEYS.forEach(function (key) { var select = document.getElementById(key); f[key] = select ? select.value : ''; });
  var target = address(f, 1);
  if (target === (location.hash || '#')) render(); else location.hash = target;
}
window.addEventListener('hashchange', function () {
  render();
  var top = document.getElementById('entries').getBoundingClientRect().top;
  if (top < 0) window.scrollBy(0, top - 60);
});
window.addEventListener('load', function () { document.body.dataset.loadMs = Math.round(performance.now()); });
if (window.PerformanceObserver) {
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (entry) {
        if (entry.name === 'first-contentful-paint') document.body.dataset.firstPaintMs = Math.round(entry.startTime);
      });
    }).observe({type: 'paint', buffered: true});
  } catch (error) {}
}
render();
"""
"""Shows the first page at once from first.js (window.GALLERY_FIRST: the first PAGE_SIZE entries, the total
and each tag's entry count), then takes every entry from entries.js (window.GALLERY, loaded async) for the
filters by tag, family and generator and the other pages; an address with a filter or a page
(index.html#tag=object_vanished&family=chair&generator=static&page=2, so the leaderboard can link to a tag)
waits for entries.js. body gets data-matching (entries matching the filters), data-shown (entries on this
page), data-page/pages, data-images-total/decoded/failed (kept up to date as the lazy pictures load),
data-all-entries (once entries.js is in), data-render-ms (when the first page of entries asked for is in
the DOM), data-load-ms and
data-first-paint-ms, which the browser test and benchmarks/gallery_speed.py read."""

LEGEND = ('<p class="legend"><span style="color:#0a0">○ true centroid</span><span style="color:#f0f">× observed '
          'centroid</span><span style="color:#e00">▢ failure frame (held longer)</span>'
          '<span style="color:#28f">▢ context frames</span></p>')


def options_html(values: Sequence[str]) -> str:
    return "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)


def filters_html(tags: Sequence[str], families: Sequence[str], generators: Sequence[str]) -> str:
    """Tag and family selects, and a generator select when the gallery covers several generators."""
    generator = (f' generator <select id="generator" onchange="choose()"><option value="">all</option>'
                 f'{options_html(generators)}</select>' if len(generators) > 1 else "")
    return (f'<p class="filters">Filter: tag <select id="tag" onchange="choose()"><option value="">all</option>'
            f'{options_html(tags)}</select> family <select id="family" onchange="choose()">'
            f'<option value="">all</option>{options_html(families)}</select>{generator}</p>' + LEGEND)


def counts_table_html(failures: pd.DataFrame) -> str:
    """Clips with each failure tag, per family (and in all; a clip of each run counts once), and events."""
    clips = failures.assign(clip=failures["generator"] + "\0" + failures["clip_id"])
    counts = clips.pivot_table(index="tag", columns="family", values="clip", aggfunc="nunique", fill_value=0)
    counts["all clips"] = clips.groupby("tag")["clip"].nunique()
    counts["events"] = clips.groupby("tag").size()
    counts.columns.name, counts.index.name = "tag / family", None
    return counts.to_html(border=0)


def generator_counts_html(failures: pd.DataFrame, generators: Sequence[str]) -> str:
    """Clips with each failure tag per generator (columns in the order the runs were given)."""
    counts = failures.pivot_table(index="tag", columns="generator", values="clip_id", aggfunc="nunique", fill_value=0)
    counts = counts.reindex(columns=list(generators), fill_value=0)
    counts.columns.name, counts.index.name = "tag / generator", None
    return counts.to_html(border=0)


def clip_counts(failures: pd.DataFrame) -> dict[str, dict[str, dict[str, int]]]:
    """{tag: {generator: {family: clips with the tag}}}, for the section headings under any filter."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for (tag, generator, family), n in failures.groupby(["tag", "generator", "family"])["clip_id"].nunique().items():
        counts.setdefault(str(tag), {}).setdefault(str(generator), {})[str(family)] = int(n)
    return counts


def data_js(name: str, data: dict[str, Any]) -> str:
    """A script setting `window.<name> = {...};` (JSON, '</' escaped so no text can end a script early)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f"window.{name} = {text};\n"


def first_page(data: dict[str, Any]) -> dict[str, Any]:
    """What first.js holds: entries.js's data cut to the first PAGE_SIZE entries (and their scores), with the
    total and each tag's entry count, so the first page shows before entries.js is read."""
    entries = data["entries"][:data["page_size"]]
    tag_entries: dict[str, int] = {}
    for entry in data["entries"]:
        tag_entries[entry["tag"]] = tag_entries.get(entry["tag"], 0) + 1
    return {**data, "entries": entries, "scores": {entry["scores"]: data["scores"][entry["scores"]] for entry in entries},
            "total": len(data["entries"]), "tag_entries": tag_entries}


def page_html(title: str, header: str, failures: pd.DataFrame, tags: Sequence[str], families: Sequence[str],
              generators: Sequence[str], empty_note: str) -> str:
    """index.html: the header, the count tables and filters (or a plain note when nothing failed), the pagers
    and the entries' container, then entries.js and the script that fills it."""
    body = [header]
    if failures.empty:
        body.append(f'<p class="empty">{html.escape(empty_note)}</p>')
    else:
        body += ["<h2>Clips with each failure tag</h2>", counts_table_html(failures)]
        if len(generators) > 1:
            body += ["<h2>Clips with each failure tag per generator</h2>", generator_counts_html(failures, generators)]
        body.append(filters_html(tags, families, generators))
    body += ['<nav class="pager"></nav>', '<main id="entries"></main>', '<nav class="pager"></nav>',
             '<noscript>The entries are shown by a script: allow JavaScript for this file.</noscript>',
             '<script src="first.js" charset="utf-8"></script>', f"<script>{PAGE_SCRIPT}</script>",
             '<script src="entries.js" charset="utf-8" async onload="allEntriesLoaded()"></script>']
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
