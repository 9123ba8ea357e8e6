// Moves between the timeline, the alerts and the transcript, plays the recording from a
// line, zooms the timeline and filters the transcript. Reads only data-* attributes and
// sets only text and classes: nothing from the call becomes markup.
(function () {
  "use strict";
  var duration = parseFloat(document.getElementById("timeline").viewBox.baseVal.width) || 1;
  var zoomed = document.getElementById("zoomed");
  var scroller = document.getElementById("scroller");
  var now = document.getElementById("now");
  var audio = document.getElementById("audio");
  var lines = Array.prototype.slice.call(document.querySelectorAll(".line"));
  var turns = Array.prototype.slice.call(document.querySelectorAll(".turn"));
  var zoom = 1;

  // Zooms about the middle of what is in view.
  function setZoom(z) {
    var mid = (scroller.scrollLeft + scroller.clientWidth / 2) / zoomed.clientWidth;
    zoom = Math.min(64, Math.max(1, z));
    zoomed.style.width = zoom * 100 + "%";
    scroller.scrollLeft = Math.max(0, mid * zoomed.clientWidth - scroller.clientWidth / 2);
  }
  document.getElementById("zoom-in").addEventListener("click", function () { setZoom(zoom * 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { setZoom(zoom / 2); });

  // The timeline shows `t`: the cursor moves there, the turn under it is marked and
  // scrolled into view.
  function showOnTimeline(t) {
    now.setAttribute("x1", t);
    now.setAttribute("x2", t);
    now.style.display = "inline";
    turns.forEach(function (r) {
      var s = parseFloat(r.getAttribute("x")), w = parseFloat(r.getAttribute("width"));
      r.classList.toggle("hit", t >= s && t <= s + w);
    });
    var x = t / duration * zoomed.clientWidth;
    scroller.scrollLeft = Math.max(0, x - scroller.clientWidth / 2);
  }

  // The transcript line nearest before `t` is marked and scrolled to.
  function showInTranscript(t) {
    var best = null;
    lines.forEach(function (l) {
      l.classList.remove("hit");
      if (parseFloat(l.dataset.at) <= t + 0.5) { best = l; }
    });
    if (best) {
      best.classList.add("hit");
      best.scrollIntoView({ block: "center" });
    }
  }

  function play(t) {
    if (!audio) { return; }
    audio.currentTime = t;
    var p = audio.play();
    if (p && p.catch) { p.catch(function () {}); }
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-at], .line");
    if (!b) { return; }
    var t = parseFloat(b.dataset.at);
    showOnTimeline(t);
    if (b.classList.contains("marker") || b.closest(".alerts")) { showInTranscript(t); }
    else {
      lines.forEach(function (l) { l.classList.toggle("hit", l.contains(b)); });
    }
    play(t);
  });

  // Clicking a turn on the timeline goes to what was said then.
  turns.forEach(function (r) {
    function go() {
      var t = parseFloat(r.dataset.start);
      showOnTimeline(t);
      showInTranscript(t);
      play(t);
    }
    r.addEventListener("click", go);
    r.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
    });
  });

  // A marker's tip opens toward the middle of the view, so one near an edge is not cut
  // off; Esc closes it until the pointer or focus leaves.
  var markers = Array.prototype.slice.call(document.querySelectorAll(".marker"));
  markers.forEach(function (m) {
    function place() {
      // The tip reaches 6rem left of the marker and 12rem right of it (call.css).
      var rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
      var box = scroller.getBoundingClientRect(), r = m.getBoundingClientRect();
      m.classList.toggle("start", r.left - box.left < 6.5 * rem);
      m.classList.toggle("end", box.right - r.right < 12.5 * rem);
    }
    function reopen() { m.classList.remove("quiet"); }
    m.addEventListener("mouseenter", place);
    m.addEventListener("focus", place);
    m.addEventListener("mouseleave", reopen);
    m.addEventListener("blur", reopen);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    markers.forEach(function (m) {
      if (m === document.activeElement || m.matches(":hover")) { m.classList.add("quiet"); }
    });
  });

  if (audio) {
    audio.addEventListener("timeupdate", function () {
      now.setAttribute("x1", audio.currentTime);
      now.setAttribute("x2", audio.currentTime);
      now.style.display = "inline";
    });
  }

  var search = document.getElementById("search");
  search.addEventListener("input", function () {
    var q = search.value.trim().toLowerCase();
    lines.forEach(function (l) {
      l.hidden = q !== "" && l.querySelector(".text").textContent.toLowerCase().indexOf(q) < 0;
    });
  });

  // A link to a moment: call.html#t=93.5 opens at 1:34, on the timeline and in the
  // transcript; every click updates it, so the address bar can be shared.
  function fromHash() {
    var m = /^#t=([0-9]+(\.[0-9]+)?)$/.exec(location.hash);
    if (m) {
      var t = parseFloat(m[1]);
      showOnTimeline(t);
      showInTranscript(t);
    }
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-at], [data-start]");
    if (b && history.replaceState) {
      history.replaceState(null, "", "#t=" + (b.dataset.at || b.dataset.start));
    }
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();

  // For tests and tools: the page's own script ran to the end (the CSP hash matched).
  document.documentElement.dataset.ready = "1";
})();
