// Line numbers beside the YAML editor, with the lines that have problems marked (no libraries).
(function () {
  "use strict";
  function gutter(area) {
    var pre = area.parentNode.querySelector(".gutter");
    if (!pre) { return; }
    var bad = (area.getAttribute("data-problem-lines") || "").split(",").filter(Boolean).map(Number);
    function draw() {
      var count = area.value.split("\n").length;
      var html = [];
      for (var i = 1; i <= count; i += 1) {
        html.push(bad.indexOf(i) >= 0 ? '<span class="bad">' + i + "</span>" : String(i));
      }
      pre.innerHTML = html.join("\n");
      pre.scrollTop = area.scrollTop;
    }
    area.addEventListener("input", draw);
    area.addEventListener("scroll", function () { pre.scrollTop = area.scrollTop; });
    draw();
    if (bad.length) {
      var lines = area.value.split("\n");
      var offset = 0;
      for (var j = 0; j < bad[0] - 1 && j < lines.length; j += 1) { offset += lines[j].length + 1; }
      area.focus();
      area.setSelectionRange(offset, offset + (lines[bad[0] - 1] || "").length);
      area.scrollTop = Math.max(0, (bad[0] - 5) * 19);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var area = document.getElementById("yaml");
    if (area) { gutter(area); }
  });
}());
