/* Sort (click a header), filter (site, status, free text) and open a row's detail line.
   Vanilla, no network: the page's Content-Security-Policy forbids any fetch. */
(function () {
  "use strict";
  function groups(body) {
    // An item row and the detail row after it move together.
    var out = [];
    Array.prototype.forEach.call(body.rows, function (tr) {
      if (tr.classList.contains("detail") && out.length) { out[out.length - 1].push(tr); } else { out.push([tr]); }
    });
    return out;
  }
  function key(tr, i) {
    var td = tr.cells[i];
    if (!td) { return ""; }
    var v = td.getAttribute("data-v");
    return (v === null ? td.textContent : v).trim();
  }
  // One collator for every comparison: localeCompare with options builds one per call (slow at 10^4 rows).
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  function compare(a, b) {
    var na = Number(a), nb = Number(b);
    if (a !== "" && b !== "" && !isNaN(na) && !isNaN(nb)) { return na - nb; }
    return collator.compare(a, b);
  }
  function sortBy(table, th) {
    var i = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var gs = groups(body).map(function (g) { return { k: key(g[0], i), rows: g }; }); // each key read once
    gs.sort(function (x, y) {
      var a = x.k, b = y.k;
      if (a === "" || b === "") { return (a === "") - (b === ""); } // empty cells last, either way
      return dir * compare(a, b);
    });
    // The rows go into a new body that replaces the old one: moving them within the old body made
    // each move cost a walk of its siblings (10 s for a second sort of 5,000 rows, 25 ms this way).
    var fresh = document.createElement("tbody");
    gs.forEach(function (g) { g.rows.forEach(function (tr) { fresh.appendChild(tr); }); });
    table.replaceChild(fresh, body);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(table, th); } });
    });
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button.more");
    if (!b) { return; }
    var detail = b.closest("tr").nextElementSibling;
    if (detail && detail.classList.contains("detail")) {
      detail.classList.toggle("open");
      b.textContent = detail.classList.contains("open") ? "\u2212" : "+";
    }
  });
  var site = document.getElementById("f-site"), status = document.getElementById("f-status"),
      text = document.getElementById("f-text");
  if (!site) { return; }
  function apply() {
    var s = site.value, st = status.value, q = text.value.trim().toLowerCase();
    Array.prototype.forEach.call(document.querySelectorAll("table.filterable"), function (table) {
      var shown = 0, all = 0;
      groups(table.tBodies[0]).forEach(function (g) {
        var tr = g[0];
        all += 1;
        var hay = q ? g.map(function (x) { return x.textContent; }).join(" ").toLowerCase() : "";
        var ok = (!s || tr.getAttribute("data-site") === s) && (!st || tr.getAttribute("data-status") === st)
                 && (!q || hay.indexOf(q) >= 0);
        g.forEach(function (x) { x.hidden = !ok; });
        if (ok) { shown += 1; }
      });
      var counter = document.getElementById(table.id + "-shown");
      if (counter) { counter.textContent = shown === all ? all + " rows" : shown + " of " + all + " rows shown"; }
    });
  }
  [site, status].forEach(function (el) { el.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  document.getElementById("f-clear").addEventListener("click", function () {
    site.value = ""; status.value = ""; text.value = ""; apply();
  });
}());
