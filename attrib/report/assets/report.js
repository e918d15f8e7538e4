"use strict";
(function () {
  var D = JSON.parse(document.getElementById("attrib-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function color(s) {
    if (s === null || s === undefined) return "#98a2b3";
    var h = Math.round(120 * (1 - Math.max(0, Math.min(1, s))));
    return "hsl(" + h + ",70%,42%)";
  }
  function fmt(v) { return v === null || v === undefined ? "" : String(v); }
  function day(v) { return v ? String(v).replace("T", " ").slice(0, 16) : ""; }
  function scoreText(s) { return s === null || s === undefined ? "n/a" : s.toFixed(2); }

  // A pager under a paged list: "< prev  rows 1-30 of 290  next >  [show all]".
  // state: {page, size, all}; onChange() re-renders.
  function pager(id, total, state, onChange, unit) {
    var box = document.getElementById(id);
    while (box.firstChild) box.removeChild(box.firstChild);
    if (total <= state.size && !state.all) return;
    var pages = Math.max(1, Math.ceil(total / state.size));
    state.page = Math.min(state.page, pages - 1);
    function btn(label, enabled, go) {
      var b = el("button", {type: "button"}, label);
      b.disabled = !enabled;
      b.addEventListener("click", function () { go(); onChange(); });
      box.appendChild(b);
    }
    if (!state.all) {
      btn("\u2039 prev", state.page > 0, function () { state.page--; });
      var a = state.page * state.size + 1, z = Math.min(total, a + state.size - 1);
      box.appendChild(el("span", {"class": "pager-pos"}, unit + " " + a + "\u2013" + z + " of " + total));
      btn("next \u203a", state.page < pages - 1, function () { state.page++; });
    }
    btn(state.all ? "show pages" : "show all " + total, true, function () { state.all = !state.all; state.page = 0; });
  }
  function pageOf(list, state) {
    return state.all ? list : list.slice(state.page * state.size, (state.page + 1) * state.size);
  }

  // ---- headline: what was found, in three lines ---------------------------------------------
  var hl = document.getElementById("headline");
  (D.headline || []).forEach(function (line) { hl.appendChild(el("li", {}, line)); });

  // ---- summary ----------------------------------------------------------------------------
  var m = D.meta || {};
  var flagged = D.origins.filter(function (o) { return o.score !== null && o.score >= D.threshold; });
  document.getElementById("summary").textContent =
    D.n_origins + " origins analysed, " + (D.n_clusters || D.clusters.length) + " clusters" +
    (D.clusters.length < (D.n_clusters || 0) ? " (the " + D.clusters.length + " best shown)" : "") + ", " + D.n_flagged +
    " flagged (score \u2265 " + D.threshold + ")" +
    (D.origins.length < D.n_origins ? "; the report shows the top " + D.origins.length : "") +
    (m.window ? "; window " + day(m.window.start) + " \u2013 " + day(m.window.end) + " UTC" : "");

  // ---- ranked table with filters ------------------------------------------------------------
  var COLS = [["rank", "Rank", "num"], ["ip", "Origin", "ip"], ["score", "Score", "num"],
    ["cluster", "Cluster", ""], ["asn", "ASN", "num"], ["as_org", "AS organisation", "org"],
    ["net_type", "Network", ""], ["country", "Country", ""], ["first_seen", "First seen", ""],
    ["last_seen", "Last seen", ""], ["reasons", "Reasons", "reasons"],
    ["counter_evidence", "Counter-evidence", "reasons"]];
  var table = document.getElementById("origins-table");
  var headRow = table.tHead.rows[0];
  var sortKey = "rank", sortAsc = true;
  COLS.forEach(function (c) {
    var th = el("th", {"data-key": c[0]}, c[1]);
    th.addEventListener("click", function () {
      sortAsc = sortKey === c[0] ? !sortAsc : true; sortKey = c[0]; renderTable();
    });
    headRow.appendChild(th);
  });
  function fillSelect(id, values) {
    var s = document.getElementById(id);
    values.forEach(function (v) { s.appendChild(el("option", {value: v}, v)); });
    s.addEventListener("change", renderTable);
  }
  function uniq(key) {
    var seen = {};
    D.origins.forEach(function (o) { if (o[key] !== null && o[key] !== undefined) seen[o[key]] = 1; });
    return Object.keys(seen).sort();
  }
  fillSelect("f-cluster", uniq("cluster"));
  fillSelect("f-net", uniq("net_type"));
  fillSelect("f-country", uniq("country"));
  var fText = document.getElementById("f-text"), fScore = document.getElementById("f-score");
  fText.addEventListener("input", renderTable);
  fScore.addEventListener("input", function () {
    document.getElementById("f-score-v").textContent = Number(fScore.value).toFixed(2);
    renderTable();
  });
  function passes(o) {
    var q = fText.value.trim().toLowerCase();
    if (q && [o.ip, o.as_org, o.reasons, o.cluster, o.asn].join(" ").toLowerCase().indexOf(q) < 0) return false;
    if ((o.score || 0) < Number(fScore.value)) return false;
    var c = document.getElementById("f-cluster").value;
    if (c === "__none" ? o.cluster !== null : (c && o.cluster !== c)) return false;
    var n = document.getElementById("f-net").value;
    if (n && o.net_type !== n) return false;
    var k = document.getElementById("f-country").value;
    if (k && o.country !== k) return false;
    return true;
  }
  var tableState = {page: 0, size: 30, all: false};
  function renderTable(keepPage) {
    if (keepPage !== true) tableState.page = 0;
    var rows = D.origins.filter(passes);
    rows.sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * (sortAsc ? 1 : -1);
    });
    var body = el("tbody");
    pageOf(rows, tableState).forEach(function (o) {
      var tr = el("tr", {"data-ip": o.ip});
      tr.addEventListener("click", function () { tr.classList.toggle("open"); });
      COLS.forEach(function (c) {
        var td = el("td", c[2] ? {"class": c[2]} : {});
        if (c[0] === "score") {
          var b = el("span", {"class": "score"}, o.score === null ? "" : o.score.toFixed(2));
          b.style.background = color(o.score); td.appendChild(b);
        } else if (c[0] === "first_seen" || c[0] === "last_seen") {
          td.textContent = day(o[c[0]]).slice(5);  // the year is in the window line above
          td.title = day(o[c[0]]) + " UTC";
        } else {
          td.textContent = fmt(o[c[0]]);
          if (c[0] === "reasons" || c[0] === "as_org") td.title = fmt(o[c[0]]);
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.replaceChild(body, table.tBodies[0]);
    document.getElementById("f-count").textContent = rows.length + " of " + D.origins.length +
      " match" + (D.origins.length < D.n_origins ? " (the report holds the top " + D.origins.length + " of " + D.n_origins + ")" : "") +
      "; click a row for all its reasons";
    pager("origins-pager", rows.length, tableState, function () { renderTable(true); }, "rows");
  }
  renderTable();

  // ---- map ----------------------------------------------------------------------------------
  var grat = document.getElementById("map-grat");
  for (var lon = 30; lon < 360; lon += 30) grat.appendChild(sv("line", {"class": "grat", x1: lon, y1: 0, x2: lon, y2: 180}));
  for (var lat = 30; lat < 180; lat += 30) grat.appendChild(sv("line", {"class": "grat", x1: 0, y1: lat, x2: 360, y2: lat}));
  var pts = document.getElementById("map-points");
  D.origins.slice().reverse().forEach(function (o) {
    if (o.lat === null || o.lon === null || o.lat === undefined || o.lon === undefined) return;
    var c = sv("circle", {cx: (o.lon + 180).toFixed(2), cy: (90 - o.lat).toFixed(2),
      r: (0.8 + 2.2 * Math.max(0, Math.min(1, o.score || 0))).toFixed(2), fill: color(o.score), "data-ip": o.ip});
    c.appendChild(sv("title", {}, o.ip + " \u2014 " + fmt(o.as_org) + " (" + fmt(o.country) +
      "), score " + (o.score === null ? "n/a" : o.score.toFixed(2))));
    pts.appendChild(c);
  });

  // ---- cluster graph (layout computed by attrib) ----------------------------------------------
  var g = document.getElementById("graph"), G = D.graph;
  G.edges.forEach(function (e) {
    var a = G.nodes[e[0]], b = G.nodes[e[1]];
    g.appendChild(sv("line", {x1: a.x, y1: a.y, x2: b.x, y2: b.y}));
  });
  G.nodes.forEach(function (n) {
    var shape;
    if (n.kind === "cluster") {
      var h = Math.min(12, 5 + Math.sqrt(n.size || 1) / 2);
      shape = sv("rect", {x: n.x - h, y: n.y - h, width: 2 * h, height: 2 * h, fill: color(n.score), "class": "node cluster"});
    } else if (n.kind === "asn") {
      shape = sv("polygon", {points: [n.x, n.y - 5, n.x + 5, n.y, n.x, n.y + 5, n.x - 5, n.y].join(" "),
        fill: "#d0d5dd", "class": "node asn"});
    } else {
      shape = sv("circle", {cx: n.x, cy: n.y, r: 3.5, fill: color(n.score), "class": "node origin"});
    }
    shape.appendChild(sv("title", {}, n.title || n.label));
    g.appendChild(shape);
  });
  G.nodes.forEach(function (n) {  // labels last, above every shape
    if (n.show_label) g.appendChild(sv("text", {x: n.x, y: n.ly === undefined ? n.y - 12 : n.ly, "text-anchor": "middle"},
      n.label + " \u00b7 " + n.size + " origins \u00b7 " + scoreText(n.score)));
  });
  if (!G.nodes.length) g.appendChild(sv("text", {x: 20, y: 30}, "No clusters in this run."));

  // ---- per-cluster timeline with hand-offs ---------------------------------------------------------
  var tlSel = document.getElementById("tl-cluster"), tl = document.getElementById("timeline");
  D.clusters.forEach(function (c) {
    tlSel.appendChild(el("option", {value: c.cluster}, c.cluster + " (" + c.size + " origins, " +
      (c.infrastructure ? "score " + scoreText(c.score) : "no shared traits: not infrastructure") + ")"));
  });
  var tlState = {page: 0, size: 30, all: false};
  function isHandoff(p, o) {
    // the next exit starts about when the previous one stops (a short gap or an overlap of at
    // most half the previous exit's life) and outlives it
    var gap = (Date.parse(o.first_seen) - Date.parse(p.last_seen)) / 3600e3;
    var life = (Date.parse(p.last_seen) - Date.parse(p.first_seen)) / 3600e3;
    return gap < 48 && -gap <= life / 2 && o.last_seen > p.last_seen;
  }
  function byTime(a, b) { return a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0; }
  var byIp = {};
  D.origins.forEach(function (o) { byIp[o.ip] = o; });
  (D.extra_members || []).forEach(function (o) { byIp[o.ip] = o; });
  function renderTimeline() {
    while (tl.firstChild) tl.removeChild(tl.firstChild);
    var c = D.clusters.filter(function (x) { return x.cluster === tlSel.value; })[0];
    if (!c) { tl.appendChild(sv("text", {x: 20, y: 30}, "No clusters in this run.")); return; }
    var all = c.members.map(function (ip) { return byIp[ip]; }).filter(function (o) { return o && o.first_seen && o.last_seen; });
    var total = 0, timed = all.slice().sort(byTime);
    for (var q = 1; q < timed.length; q++) if (isHandoff(timed[q - 1], timed[q])) total++;
    // a page: the best-scored members, drawn in time order
    all.sort(function (a, b) { return (b.score || 0) - (a.score || 0) || byTime(a, b); });
    var ms = pageOf(all, tlState).slice().sort(byTime);
    var t0 = Math.min.apply(null, ms.map(function (o) { return Date.parse(o.first_seen); }));
    var t1 = Math.max.apply(null, ms.map(function (o) { return Date.parse(o.last_seen); }));
    if (!(t1 > t0)) t1 = t0 + 3600e3;
    var L = 130, W = 1000 - L - 20, rowH = 16, H = 40 + ms.length * rowH;
    tl.setAttribute("viewBox", "0 0 1000 " + H);
    function x(t) { return L + W * (Date.parse(t) - t0) / (t1 - t0); }
    var ax = sv("g", {"class": "tl-axis"});
    for (var i = 0; i <= 6; i++) {
      var tx = L + W * i / 6, tt = new Date(t0 + (t1 - t0) * i / 6).toISOString();
      ax.appendChild(sv("line", {x1: tx, y1: 18, x2: tx, y2: H}));
      ax.appendChild(sv("text", {x: tx, y: 12, "text-anchor": i === 0 ? "start" : i === 6 ? "end" : "middle"}, day(tt)));
    }
    tl.appendChild(ax);
    var handoffs = 0;
    ms.forEach(function (o, k) {
      var y = 24 + k * rowH, xa = x(o.first_seen), xb = Math.max(x(o.last_seen), xa + 2);
      tl.appendChild(sv("text", {"class": "tl-label", x: 4, y: y + 10}, o.ip));
      var bar = sv("rect", {"class": "tl-bar", x: xa, y: y, width: xb - xa, height: rowH - 5, fill: color(o.score), "data-ip": o.ip});
      bar.appendChild(sv("title", {}, o.ip + ": " + day(o.first_seen) + " \u2192 " + day(o.last_seen)));
      tl.appendChild(bar);
      var p = ms[k - 1];
      if (p) {
        if (isHandoff(p, o)) {
          handoffs++;
          var px = x(p.last_seen), py = y - rowH + (rowH - 5) / 2;
          tl.appendChild(sv("path", {"class": "tl-handoff", d: "M" + px + " " + py + " L" + xa + " " + (y + (rowH - 5) / 2)}));
        }
      }
    });
    var held = c.members_total && c.members_total > c.members.length ?
      " among the " + c.members.length + " best-ranked of " + c.members_total + " members" : "";
    document.getElementById("tl-note").textContent = all.length + " exits, " + total + " hand-offs" + held +
      (ms.length < all.length ? " (" + handoffs + " between the " + ms.length + " drawn)" : "") +
      "; shared traits: " + (c.shared_traits ? fmt(c.shared_traits) : "none");
    pager("tl-pager", all.length, tlState, renderTimeline, "exits (best scored first)");
  }
  tlSel.addEventListener("change", function () { tlState.page = 0; tlState.all = false; renderTimeline(); });
  renderTimeline();

  // ---- access without sign-in -----------------------------------------------------------------
  var tb = document.getElementById("token-table").tBodies[0];
  var tacc = D.token_access || [];
  tacc.forEach(function (r) {
    var tr = el("tr");
    [r.account, r.origins, r.networks, r.apps, r.mailboxes, r.items, fmt(r.first_seen),
     fmt(r.last_seen), r.evidence].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
    tb.appendChild(tr);
  });
  document.getElementById("token-note").textContent = tacc.length ? tacc.length + " account(s)" : "No account shows mailbox access without a sign-in.";

  // ---- provenance -------------------------------------------------------------------------------
  var prov = document.getElementById("prov").tBodies[0], lastSection = null;
  (D.provenance || []).forEach(function (r) {
    var tr = el("tr", r[0] !== lastSection ? {"class": "first"} : {});
    tr.appendChild(el("td", {}, r[0] !== lastSection ? r[0] : ""));
    tr.appendChild(el("td", {}, r[1])); tr.appendChild(el("td", {}, r[2]));
    prov.appendChild(tr); lastSection = r[0];
  });
  var ib = document.getElementById("inputs-table").tBodies[0];
  ((m.read || {}).files || []).forEach(function (f) {
    var tr = el("tr");
    [f.path, f.format, f.rows, f.skipped_total].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
    ib.appendChild(tr);
  });
  ((m.read || {}).failed || []).forEach(function (f) {
    var tr = el("tr");
    [f.path, "unreadable", 0, f.error].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
    ib.appendChild(tr);
  });
  document.body.setAttribute("data-ready", "1");
})();
