// Sorts the table by a column: click a heading (again to reverse), or open the page at
// #sort=KEY or #sort=-KEY. Reads only data-* attributes; moves rows, never makes markup.
(function () {
  "use strict";
  var table = document.getElementById("calls");
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);

  // A cell's sort value: a number in a numeric column, else text; null when empty.
  function value(row, col) {
    var v = row.cells[col].getAttribute("data-sort");
    if (v === "") { return null; }
    return heads[col].classList.contains("num") ? parseFloat(v) : v;
  }

  // Figures that do not apply (null) sort last either way.
  function sortBy(key, descending) {
    var col = heads.findIndex(function (h) { return h.getAttribute("data-key") === key; });
    if (col < 0) { return; }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col), y = value(b, col);
      if (x === null || y === null) { return x === null ? (y === null ? 0 : 1) : -1; }
      var c = typeof x === "number" ? x - y : x.localeCompare(y);
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    heads.forEach(function (h, i) {
      h.setAttribute("aria-sort", i === col ? (descending ? "descending" : "ascending") : "none");
    });
  }

  heads.forEach(function (h) {
    h.querySelector("button").addEventListener("click", function () {
      var descending = h.getAttribute("aria-sort") === "ascending";
      var key = h.getAttribute("data-key");
      sortBy(key, descending);
      history.replaceState(null, "", "#sort=" + (descending ? "-" : "") + key);
    });
  });

  var m = /^#sort=(-?)([a-z_]+)$/.exec(location.hash);
  if (m) { sortBy(m[2], m[1] === "-"); }
  // For tests and tools: the script ran to the end (the CSP hash matched).
  document.documentElement.dataset.ready = "1";
})();
