// Keeps the counter view live: each redemption the server pushes (server-sent events) arrives
// as a row the server has rendered in the page's language, and is put at the top of the list.
// Without JavaScript the page reloads itself instead, so this only makes it faster.
"use strict";
(function () {
  var feed = document.getElementById("feed");
  var status = document.getElementById("live");
  var empty = document.getElementById("empty");
  if (!feed || !window.EventSource) {
    return;
  }
  var max = Number(feed.getAttribute("data-max")) || 50;
  var source = new EventSource(feed.getAttribute("data-events"));
  function say(key) {
    status.textContent = status.getAttribute(key);
  }
  source.onopen = function () {
    say("data-live");
  };
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (signed out, or the session ended): the page itself says what to do next.
      window.location.reload();
    } else {
      say("data-lost");
    }
  };
  source.addEventListener("redemption", function (event) {
    feed.insertAdjacentHTML("afterbegin", event.data);
    feed.firstElementChild.classList.add("new");
    empty.hidden = true;
    while (feed.children.length > max) {
      feed.removeChild(feed.lastElementChild);
    }
  });
  source.addEventListener("signed-out", function () {
    source.close();
    window.location.reload();
  });
})();
