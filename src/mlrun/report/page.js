(function () {
  const figures = JSON.parse(document.getElementById("mlrun-figures").textContent);
  const drawn = figures.map(function (fig, i) {
    return Plotly.newPlot("chart-" + i, fig.data, fig.layout, MLRUN_PLOTLY_CONFIG);
  });
  Promise.all(drawn).then(
    function () { document.body.dataset.charts = "drawn"; },
    function (err) { document.body.dataset.charts = "failed: " + err; }
  );
  document.querySelectorAll("table.compare th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      const dir = th.dataset.dir === "asc" ? "desc" : "asc";
      th.parentNode.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      const body = th.closest("table").tBodies[0];
      const rows = Array.from(body.rows);
      const key = function (row) { return row.cells[col].dataset.sort || ""; };
      const numeric = rows.every(function (r) { return key(r) === "" || !isNaN(Number(key(r))); });
      rows.sort(function (a, b) {
        const x = key(a), y = key(b);
        if (x === "" || y === "") { return (x === "") - (y === ""); }  // empty cells last
        const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return dir === "asc" ? order : -order;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
