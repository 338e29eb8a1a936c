// Counts down the time a fixed code may still be shown to staff (an offer's redemption timer),
// from the server's time so a phone with a wrong clock still counts right. When it reaches
// zero the code is hidden and the page says the time is over. Without JavaScript the page says
// the same truth in words: the time before which the code is to be shown, and a reload then.
"use strict";
(function () {
  var box = document.getElementById("countdown-box");
  if (!box) {
    return;
  }
  var until = Number(box.getAttribute("data-until"));
  var offset = Number(box.getAttribute("data-now")) - Date.now();
  var left = document.getElementById("countdown");
  function tick() {
    var ms = until - (Date.now() + offset);
    if (ms <= 0) {
      document.getElementById("shown-code").hidden = true;
      document.getElementById("countdown-over").hidden = false;
      box.hidden = true;
      return;
    }
    var seconds = Math.ceil(ms / 1000);
    left.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    window.setTimeout(tick, ((ms - 1) % 1000) + 5);
  }
  tick();
})();
