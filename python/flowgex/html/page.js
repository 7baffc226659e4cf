// flowgex report page: draws the embedded data with plotly.js, no network, no server.
// Every number comes from the data blob (written by flowgex.html._data); this
// script only decodes, selects and draws. Controls re-draw with Plotly.react.
(function () {
  "use strict";
  var started = performance.now();
  var D = JSON.parse(document.getElementById("fgx-data").textContent);
  var GREEN = "#2e9e44", RED = "#d63a3a", SPOT = "#1f3b73", FLIP = "#e08a00", CLASSIC = "#7a5195";
  var USD = D.unit.indexOf("usd") === 0;
  var cache = {};

  function f64(s) {
    var bin = atob(s), u8 = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    return new Float64Array(u8.buffer);
  }
  function i32(s) {
    var bin = atob(s), u8 = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    return new Int32Array(u8.buffer);
  }
  function decoded(asset, key) {
    var id = asset + "/" + key;
    if (cache[id]) return cache[id];
    var v = D.assets[asset].variants[key], b = v.bars;
    var out = {
      spot: f64(v.spot), total: f64(v.total), near: f64(v.near), flip: f64(v.flip), regime: v.regime,
      pwall: f64(v.pwall), nwall: f64(v.nwall), profile: f64(v.profile),
      off: i32(b.off), K: f64(b.K), ki: i32(b.ki), c: f64(b.c), p: f64(b.p), g: f64(b.g), x: {},
      classic: v.classic
    };
    Object.keys(b.x || {}).forEach(function (e) { out.x[e] = f64(b.x[e]); });
    if (v.classic && !v.classic.error) {
      out.ccurve = f64(v.classic.curve);
      out.top = { strike: f64(v.classic.top.strike), flow: f64(v.classic.top.flow), classic: f64(v.classic.top.classic) };
    }
    cache[id] = out;
    return out;
  }

  // -- formats -------------------------------------------------------------
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function num(x, digits) {
    return x.toLocaleString("en-US", { maximumFractionDigits: digits });
  }
  function price(x) {
    if (x === null || !isFinite(x)) return "\u2014";
    return Math.abs(x) >= 100 ? num(x, 0) : num(x, 6);
  }
  function value(x) {
    if (x === null || !isFinite(x)) return "\u2014";
    var s = Math.abs(x) >= 1000 ? num(Math.abs(x), 0) : Math.abs(x).toPrecision(4);
    return (x < 0 ? "\u2212" : "") + (USD ? "$" : "") + s;
  }
  function stamp(sec) {
    return new Date(sec * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }
  var UNIT = { usd_per_1pct: "USD per 1% move", usd_per_point: "USD per 1-point move", underlying: "underlying units per 1-point move" };
  var unitText = "GEX (" + (UNIT[D.unit] || D.unit) + ")";
  // The exposures the strike chart and heatmap can show: GEX, and DEX/VEX/CEX when the run computed them.
  var EXPO = D.exposures || [{ key: "gex", name: "GEX", label: unitText }];
  function column(v, e) { return e.key === "gex" ? v.g : v.x[e.key]; }

  // -- state and controls --------------------------------------------------
  var assetSel = document.getElementById("asset"), filterSel = document.getElementById("filter");
  var slider = document.getElementById("time"), timeLabel = document.getElementById("time-label");
  Object.keys(D.assets).forEach(function (a) { assetSel.add(new Option(a, a)); });
  D.filters.forEach(function (f) { filterSel.add(new Option(f.label, f.key)); });
  var expoSel = document.getElementById("exposure");
  EXPO.forEach(function (e) { expoSel.add(new Option(e.label, e.key)); });
  if (EXPO.length < 2) document.getElementById("exposure-box").hidden = true;
  function exposure() {
    return EXPO.filter(function (e) { return e.key === expoSel.value; })[0] || EXPO[0];
  }
  var config = { displaylogo: false, responsive: true };

  function vline(x, color, dash, text, row) {
    // Labels are staggered down the plot so that nearby lines do not overprint each other.
    return {
      shape: { type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color: color, width: 2, dash: dash } },
      ann: { x: x, y: 1 - 0.07 * row, xref: "x", yref: "paper", text: text, showarrow: false, yanchor: "top",
        bgcolor: "rgba(255,255,255,0.85)", font: { color: color, size: 11 } }
    };
  }
  function marks(list) {
    var ok = list.filter(function (m) { return m[0] !== null && isFinite(m[0]); });
    var ls = ok.map(function (m, i) { return vline(m[0], m[1], m[2], m[3], i); });
    return { shapes: ls.map(function (l) { return l.shape; }), annotations: ls.map(function (l) { return l.ann; }) };
  }

  function drawStrikes(a, v, j, t, e) {
    // GEX bars carry calls and puts in the hover; DEX/VEX/CEX their total per strike.
    var gex = e.key === "gex", ys = column(v, e);
    var lo = v.off[j], hi = v.off[j + 1], x = [], y = [], cd = [], col = [];
    for (var r = lo; r < hi; r++) {
      x.push(v.K[v.ki[r]]); y.push(ys[r]);
      cd.push(gex ? [value(v.c[r]), value(v.p[r]), value(v.g[r]), price(v.K[v.ki[r]])] : [value(ys[r]), price(v.K[v.ki[r]])]);
      col.push(ys[r] >= 0 ? GREEN : RED);
    }
    var lines = [
      [v.spot[j], SPOT, "solid", "spot " + price(v.spot[j])],
      [v.flip[j], FLIP, "dash", (gex ? "flip " : "GEX flip ") + price(v.flip[j])]
    ];
    if (gex) lines.push([v.pwall[j], GREEN, "dot", "+wall " + price(v.pwall[j])], [v.nwall[j], RED, "dot", "\u2212wall " + price(v.nwall[j])]);
    var m = marks(lines);
    Plotly.react("strikes", [{
      type: "bar", x: x, y: y, customdata: cd, marker: { color: col }, name: e.name,
      hovertemplate: gex ? "strike %{customdata[3]}<br>total GEX %{customdata[2]}<br>calls %{customdata[0]}<br>puts %{customdata[1]}<extra></extra>"
        : "strike %{customdata[1]}<br>" + e.name + " %{customdata[0]}<extra></extra>"
    }], {
      title: { text: a + " " + e.name + " by strike \u00b7 " + stamp(t) },
      xaxis: { title: { text: "strike" } }, yaxis: { title: { text: e.label } },
      shapes: m.shapes, annotations: m.annotations, margin: { t: 60, r: 20 }, bargap: 0.15, showlegend: false
    }, config);
  }

  function drawProfile(a, v, j, t) {
    var rel = REL, n = rel.length, x = [], y = [], traces = [];
    for (var i = 0; i < n; i++) { x.push(rel[i] * v.spot[j]); y.push(v.profile[j * n + i]); }
    traces.push({ type: "scatter", mode: "lines", x: x, y: y, name: "flow \u00b7 " + stamp(t), line: { color: SPOT, width: 2.5 },
      hovertemplate: "spot %{x:,.6~g}<br>GEX %{y:,.6~g}<extra>flow</extra>" });
    var c = v.classic, list = [[v.spot[j], SPOT, "solid", "spot"], [v.flip[j], FLIP, "dash", "flip " + price(v.flip[j])]];
    if (c && !c.error && v.ccurve) {
      var cx = [];
      for (var k = 0; k < n; k++) cx.push(rel[k] * c.spot);
      traces.push({ type: "scatter", mode: "lines", x: cx, y: Array.from(v.ccurve), name: "classic (open interest) \u00b7 " + stamp(c.time),
        line: { color: CLASSIC, width: 2, dash: "dot" }, hovertemplate: "spot %{x:,.6~g}<br>GEX %{y:,.6~g}<extra>classic</extra>" });
      list.push([c.flip, CLASSIC, "dot", "classic flip " + price(c.flip)]);
    }
    var m = marks(list);
    m.shapes.push({ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: 0, y1: 0, line: { color: "#888", width: 1 } });
    Plotly.react("profile", traces, {
      title: { text: a + " GEX if spot moved \u00b7 " + stamp(t) },
      xaxis: { title: { text: "hypothetical spot" } }, yaxis: { title: { text: unitText } },
      shapes: m.shapes, annotations: m.annotations, margin: { t: 60, r: 20 },
      legend: { orientation: "h", y: -0.2 }
    }, config);
  }

  function drawHeatmap(a, v, times, j, e) {
    // Rows: every strike drawn at some offered time; cells outside a step's window are blank.
    var used = {}, n = times.length;
    for (var r = 0; r < v.ki.length; r++) used[v.ki[r]] = true;
    var rows = Object.keys(used).map(Number).sort(function (p, q) { return p - q; });
    var pos = {}; rows.forEach(function (k, i) { pos[k] = i; });
    var z = rows.map(function () { return new Array(n).fill(null); });
    var mags = [], vals = column(v, e);
    for (var s = 0; s < n; s++) {
      for (var q = v.off[s]; q < v.off[s + 1]; q++) {
        z[pos[v.ki[q]]][s] = vals[q];
        if (vals[q] !== 0) mags.push(Math.abs(vals[q]));
      }
    }
    // Colour limits at the 99th percentile of |value| (as the PNG heatmap), so one extreme cell
    // does not wash out the rest; the hover still shows every cell's exact value.
    mags.sort(function (p, q) { return p - q; });
    var zmax = mags.length ? mags[Math.min(mags.length - 1, Math.floor(0.99 * mags.length))] : 1;
    var x = times.map(function (sec) { return new Date(sec * 1000).toISOString(); });
    var flip = Array.from(v.flip).map(function (f) { return isFinite(f) ? f : null; });
    Plotly.react("heatmap", [
      { type: "heatmap", x: x, y: rows.map(function (k) { return v.K[k]; }), z: z, zmin: -zmax, zmax: zmax,
        colorscale: [[0, RED], [0.5, "#f7f7f7"], [1, GREEN]], colorbar: { title: { text: e.label.replace(": ", ":<br>").replace(" (", "<br>(") } },
        hovertemplate: "%{x|%Y-%m-%d %H:%M} UTC<br>strike %{y:,.6~g}<br>" + e.name + " %{z:,.6~g}<extra></extra>" },
      { type: "scatter", mode: "lines", x: x, y: Array.from(v.spot), name: "spot", line: { color: SPOT, width: 2 } },
      { type: "scatter", mode: "lines", x: x, y: flip, name: e.key === "gex" ? "flip" : "GEX flip", line: { color: FLIP, width: 1.5, dash: "dash" } }
    ], {
      title: { text: a + " " + e.name + " by strike over time" + (D.assets[a].stride > 1 ? " (every " + D.assets[a].stride + " steps)" : "") },
      xaxis: { title: { text: "time (UTC)" } }, yaxis: { title: { text: "strike" } }, margin: { t: 60, r: 20 },
      legend: { orientation: "h", y: -0.25 },
      shapes: [{ type: "line", xref: "x", yref: "paper", x0: x[j], x1: x[j], y0: 0, y1: 1, line: { color: "#333", width: 1, dash: "dot" } }]
    }, config);
  }

  function drawLevels(a, v, times, j) {
    var body = document.querySelector("#levels tbody"), html = [];
    for (var i = times.length - 1; i >= 0; i--) {
      html.push("<tr" + (i === j ? ' class="sel"' : "") + ' data-step="' + i + '"><td>' + stamp(times[i]) + "</td><td>" +
        price(v.spot[i]) + "</td><td>" + value(v.total[i]) + "</td><td>" + value(v.near[i]) + "</td><td>" +
        price(v.flip[i]) + "</td><td>" + (v.regime[i] === "S" ? "sticky" : "slippery") + "</td></tr>");
    }
    body.innerHTML = html.join("");
    document.getElementById("now").innerHTML =
      "<b>" + esc(a) + "</b> at " + stamp(times[j]) + ": spot <b>" + price(v.spot[j]) + "</b> \u00b7 flip <b>" + price(v.flip[j]) +
      "</b> \u00b7 +wall " + price(v.pwall[j]) + " \u00b7 \u2212wall " + price(v.nwall[j]) + " \u00b7 near-spot GEX " +
      value(v.near[j]) + " \u00b7 total GEX " + value(v.total[j]) + " \u00b7 regime <b>" + (v.regime[j] === "S" ? "sticky" : "slippery") + "</b>";
  }

  function drawCompare(v) {
    var el = document.getElementById("compare"), c = v.classic;
    if (!c) { el.textContent = "No classic (open-interest) result for this asset."; return; }
    if (c.error) { el.textContent = "Comparison not available: " + c.error; return; }
    var rows = c.top.verdict.map(function (verdict, i) {
      return "<tr><td>" + price(v.top.strike[i]) + "</td><td>" + value(v.top.flow[i]) + "</td><td>" + value(v.top.classic[i]) +
        "</td><td>" + esc(verdict) + "</td></tr>";
    }).join("");
    var counts = Object.keys(c.verdicts).map(function (k) { return esc(k) + ": " + c.verdicts[k]; }).join(" \u00b7 ");
    el.innerHTML = "<p>" + esc(c.summary) + "</p><p>Sign agreement " + (100 * c.sign_agreement).toFixed(0) +
      "% of strikes \u00b7 " + counts + "</p><table><thead><tr><th>strike</th><th>flow GEX</th><th>classic GEX</th>" +
      "<th>verdict</th></tr></thead><tbody>" + rows + "</tbody></table><p class=\"hint\">Strikes with the largest " +
      "|flow \u2212 classic|, at each method's last time.</p>";
  }

  var REL = f64(D.rel);
  function update(resetTime, full) {
    var a = assetSel.value, key = filterSel.value, times = D.assets[a].t;
    if (resetTime) { slider.max = times.length - 1; slider.value = times.length - 1; }
    var j = Number(slider.value), v = decoded(a, key), t = times[j], e = exposure();
    timeLabel.textContent = stamp(t) + "  (" + (j + 1) + " of " + times.length + ")";
    drawStrikes(a, v, j, t, e);
    drawProfile(a, v, j, t);
    if (full) drawHeatmap(a, v, times, j, e);
    else Plotly.relayout("heatmap", { "shapes[0].x0": new Date(t * 1000).toISOString(), "shapes[0].x1": new Date(t * 1000).toISOString() });
    drawLevels(a, v, times, j);
    drawCompare(v);
    document.body.setAttribute("data-step", String(j));
    document.body.setAttribute("data-exposure", e.key);
  }
  assetSel.addEventListener("change", function () { update(true, true); });
  filterSel.addEventListener("change", function () { update(false, true); });
  expoSel.addEventListener("change", function () { update(false, true); });
  slider.addEventListener("input", function () { update(false, false); });
  document.querySelector("#levels tbody").addEventListener("click", function (e) {
    var tr = e.target.closest("tr");
    if (tr) { slider.value = tr.getAttribute("data-step"); update(false, false); }
  });
  document.getElementById("notes").textContent = D.notes.join(" \u00b7 ");
  update(true, true);
  document.body.setAttribute("data-draw-ms", String(Math.round(performance.now() - started)));
  document.body.setAttribute("data-ready", "1");
})();
