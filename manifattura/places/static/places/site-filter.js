/* The site filter form: leave empty fields out of the request, so the address bar (htmx pushes it)
 * shows only the filters in use, e.g. /sites/?municipio=4 instead of a row of empty parameters. */
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (e) {
    var elt = e.detail.elt;
    if (!elt || !elt.closest || !elt.closest("#site-filter") || e.detail.verb !== "get") return;
    var params = e.detail.parameters;
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      var empty = Array.isArray(value) ? value.every(function (v) { return v === ""; }) : value === "";
      if (empty) delete params[key];
    });
  });
  // After a sort link swapped the results, later filter changes keep that order.
  document.body.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || target.id !== "site-results") return;
    var results = target.querySelector("[data-sort]");
    var input = document.querySelector("#site-filter input[name='sort']");
    if (results && input) input.value = results.dataset.sort === "name" ? "" : results.dataset.sort;
  });
})();
