/* dermaudit report: filter and sort the findings table. Plain JavaScript, no network.
   Filters are mirrored in the address as #filter?rule=EM-001&severity=denial&sort=amount-desc
   so a filtered view can be bookmarked or opened directly. */
(function () {
  "use strict";
  document.documentElement.className = document.documentElement.className.replace("no-js", "js");
  var table = document.getElementById("findings-table");
  var controls = document.getElementById("findings-controls");
  if (!table || !controls) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var original = rows.slice();
  var selects = Array.prototype.slice.call(controls.querySelectorAll("select[data-filter]"));
  var search = document.getElementById("f-search");
  var reset = document.getElementById("f-reset");
  var countEl = document.getElementById("findings-count");
  var sortButtons = Array.prototype.slice.call(table.querySelectorAll("button.sort"));
  var total = parseInt(table.getAttribute("data-total"), 10) || rows.length;
  var sortKey = "amount";
  var sortDir = "desc";
  var texts = rows.map(function (tr) { return tr.textContent.toLowerCase(); });
  controls.hidden = false;

  function money(v) {
    return "$" + v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function currentFilters() {
    var f = {};
    selects.forEach(function (s) { if (s.value) { f[s.getAttribute("data-filter")] = s.value; } });
    if (search && search.value.trim()) { f.q = search.value.trim(); }
    return f;
  }

  function writeHash(f) {
    var parts = [];
    Object.keys(f).sort().forEach(function (k) {
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(f[k]));
    });
    if (sortKey !== "amount" || sortDir !== "desc") { parts.push("sort=" + sortKey + "-" + sortDir); }
    var hash = parts.length ? "#filter?" + parts.join("&") : "";
    if (hash && location.hash === hash) { return; }
    try {
      history.replaceState(null, "", hash || (location.pathname + location.search));
    } catch (e) { /* some file:// contexts refuse replaceState; filtering still works */ }
  }

  function apply(updateHash) {
    var f = currentFilters();
    var q = f.q ? f.q.toLowerCase() : "";
    var shown = 0;
    var amount = 0;
    rows.forEach(function (tr, i) {
      var ok = true;
      selects.forEach(function (s) {
        var key = s.getAttribute("data-filter");
        if (ok && s.value && tr.getAttribute("data-" + key) !== s.value) { ok = false; }
      });
      if (ok && q && texts[i].indexOf(q) < 0) { ok = false; }
      tr.hidden = !ok;
      if (ok) {
        shown += 1;
        amount += parseFloat(tr.getAttribute("data-amount")) || 0;
      }
    });
    var capped = total > rows.length ? " (the page holds the " + rows.length.toLocaleString("en-US") +
      " costliest of " + total.toLocaleString("en-US") + ")" : "";
    countEl.textContent = "Showing " + shown.toLocaleString("en-US") + " of " +
      rows.length.toLocaleString("en-US") + " findings" + capped + " · " + money(amount) + " at risk in view";
    table.setAttribute("data-shown", String(shown));
    if (updateHash) { writeHash(f); }
  }

  function compare(a, b) {
    var va, vb;
    if (sortKey === "amount") {
      va = parseFloat(a.getAttribute("data-amount"));
      vb = parseFloat(b.getAttribute("data-amount"));
      va = isNaN(va) ? -1 : va;
      vb = isNaN(vb) ? -1 : vb;
    } else {
      va = a.getAttribute("data-" + sortKey) || "";
      vb = b.getAttribute("data-" + sortKey) || "";
    }
    if (va < vb) { return sortDir === "asc" ? -1 : 1; }
    if (va > vb) { return sortDir === "asc" ? 1 : -1; }
    return original.indexOf(a) - original.indexOf(b);
  }

  function sortRows() {
    var order = rows.slice().sort(compare);
    var frag = document.createDocumentFragment();
    order.forEach(function (tr) { frag.appendChild(tr); });
    tbody.appendChild(frag);
    sortButtons.forEach(function (b) {
      if (b.getAttribute("data-sort") === sortKey) {
        b.setAttribute("aria-sort", sortDir === "asc" ? "ascending" : "descending");
      } else {
        b.removeAttribute("aria-sort");
      }
    });
  }

  function readHash() {
    var h = location.hash || "";
    if (h.indexOf("#filter?") !== 0) { return false; }
    var params = {};
    h.slice(8).split("&").forEach(function (kv) {
      if (!kv) { return; }
      var i = kv.indexOf("=");
      var k = decodeURIComponent(i < 0 ? kv : kv.slice(0, i));
      params[k] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " "));
    });
    selects.forEach(function (s) {
      var key = s.getAttribute("data-filter");
      var want = params[key] || "";
      var has = Array.prototype.some.call(s.options, function (o) { return o.value === want; });
      s.value = has ? want : "";
    });
    if (search) { search.value = params.q || ""; }
    if (params.sort) {
      var p = params.sort.split("-");
      sortKey = p[0] || "amount";
      sortDir = p[1] === "asc" ? "asc" : "desc";
    }
    sortRows();
    apply(false);
    return true;
  }

  selects.forEach(function (s) { s.addEventListener("change", function () { apply(true); }); });
  if (search) { search.addEventListener("input", function () { apply(true); }); }
  reset.addEventListener("click", function () {
    selects.forEach(function (s) { s.value = ""; });
    if (search) { search.value = ""; }
    sortKey = "amount";
    sortDir = "desc";
    sortRows();
    apply(true);
  });
  sortButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      var key = b.getAttribute("data-sort");
      if (sortKey === key) {
        sortDir = sortDir === "desc" ? "asc" : "desc";
      } else {
        sortKey = key;
        sortDir = key === "amount" ? "desc" : "asc";
      }
      sortRows();
      apply(true);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("a[data-set-filter]"), function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      var kv = a.getAttribute("data-set-filter");
      var i = kv.indexOf("=");
      var key = kv.slice(0, i);
      var value = decodeURIComponent(kv.slice(i + 1));
      selects.forEach(function (s) {
        s.value = s.getAttribute("data-filter") === key ? value : "";
      });
      if (search) { search.value = ""; }
      apply(true);
      document.getElementById("findings").scrollIntoView();
    });
  });
  window.addEventListener("hashchange", function () {
    if (readHash()) { document.getElementById("findings").scrollIntoView(); }
  });
  if (readHash()) {
    document.getElementById("findings").scrollIntoView();
  } else {
    apply(false);
  }
  window.dermauditReport = { apply: apply, rows: function () { return rows.length; } };
})();
