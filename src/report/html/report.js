// relayscan HTML report: sorts and filters the host table.
// It reads the DOM and the URL fragment and only ever sets text, `hidden` and
// the order of existing rows: it never writes markup, so no server text can
// become code through it.
(function () {
  "use strict";
  var table = document.getElementById("hosts-table");
  var query = document.getElementById("q");
  var verdict = document.getElementById("verdict");
  var severity = document.getElementById("severity");
  var shown = document.getElementById("shown");
  if (!table || !query || !verdict || !severity || !shown) {
    return;
  }
  var headers = Array.prototype.slice.call(table.querySelectorAll("th[data-key]"));
  var sortKey = null;
  var sortDir = 1;

  function hosts() {
    return Array.prototype.slice.call(table.tBodies);
  }

  // Keys the report computed (data-s-*) sort as strings built to sort right;
  // the other columns sort by the text the reader sees.
  function keyOf(body, key) {
    var attr = body.getAttribute("data-s-" + key);
    if (attr !== null) {
      return attr;
    }
    var cell = body.querySelector("td.c-" + key);
    return cell ? cell.textContent.toLowerCase() : "";
  }

  function sortBy(key, dir) {
    sortKey = key;
    sortDir = dir;
    var rows = hosts().map(function (body, i) {
      return { body: body, key: keyOf(body, key), i: i };
    });
    rows.sort(function (a, b) {
      if (a.key < b.key) { return -dir; }
      if (a.key > b.key) { return dir; }
      return a.i - b.i;
    });
    rows.forEach(function (r) { table.appendChild(r.body); });
    headers.forEach(function (th) {
      var state = th.getAttribute("data-key") === key ? (dir > 0 ? "ascending" : "descending") : "none";
      th.setAttribute("aria-sort", state);
    });
  }

  function filter() {
    var words = query.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wantVerdict = verdict.value;
    var minSeverity = parseInt(severity.value, 10) || 0;
    var all = hosts();
    var visible = 0;
    all.forEach(function (body) {
      var text = body.textContent.toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) &&
        (wantVerdict === "" || body.getAttribute("data-verdict") === wantVerdict) &&
        (parseInt(body.getAttribute("data-s-severity"), 10) || 0) >= minSeverity;
      body.hidden = !ok;
      if (ok) { visible += 1; }
    });
    shown.textContent = visible + " of " + all.length + " hosts shown";
  }

  headers.forEach(function (th) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      var defaultDir = th.getAttribute("data-first") === "desc" ? -1 : 1;
      sortBy(key, sortKey === key ? -sortDir : defaultDir);
    });
  });
  [query, verdict, severity].forEach(function (control) {
    control.addEventListener("input", filter);
    control.addEventListener("change", filter);
  });

  // A view can be shared as a fragment: #q=postfix&verdict=open-relay&severity=4&sort=severity&dir=desc
  var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  if (params.has("q")) { query.value = params.get("q"); }
  if (params.has("verdict")) { verdict.value = params.get("verdict"); }
  if (params.has("severity")) { severity.value = params.get("severity"); }
  // Worst first unless the fragment asks for another order.
  var initial = params.get("sort");
  if (initial && headers.some(function (th) { return th.getAttribute("data-key") === initial; })) {
    sortBy(initial, params.get("dir") === "desc" ? -1 : 1);
  } else {
    sortBy("severity", -1);
  }
  filter();
  document.body.setAttribute("data-ready", "1");
})();
