// Ticks the success screen's clock every second, in the offer's time zone and the page's
// language, counting from the server's time so a phone with a wrong clock still shows the
// right one. The redemption time is written in the clock's format too: the server's format
// (Babel's) and the browser's (Intl's) differ, e.g. "09:05" and "9:05", and one screen shows
// one. Everything else on the page works without JavaScript.
"use strict";
(function () {
  var clock = document.getElementById("clock");
  if (!clock) {
    return;
  }
  var offset = Number(clock.getAttribute("data-now")) - Date.now();
  var options = { hour: "numeric", minute: "2-digit", second: "2-digit" };
  var format;
  try {
    options.timeZone = clock.getAttribute("data-tz");
    format = new Intl.DateTimeFormat(document.documentElement.lang, options);
  } catch (error) {
    delete options.timeZone; // an unknown zone: the phone's own is better than no clock
    format = new Intl.DateTimeFormat(document.documentElement.lang, options);
  }
  var alike = document.querySelectorAll("time[data-like-clock]");
  for (var i = 0; i < alike.length; i += 1) {
    alike[i].textContent = format.format(new Date(alike[i].getAttribute("datetime")));
  }
  function tick() {
    var now = new Date(Date.now() + offset);
    clock.textContent = format.format(now);
    clock.setAttribute("datetime", now.toISOString());
    window.setTimeout(tick, 1005 - (now.getTime() % 1000));
  }
  tick();
})();
